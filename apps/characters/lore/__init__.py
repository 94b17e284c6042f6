"""Lorebooks (SillyTavern's World Info, Character Card V2's ``character_book``): the pure activation engine.

``book`` turns a resolved book (the normalised ``character_book`` dict a character version carries under its
``lorebooks`` content key) into compiled entries once; ``engine.lore_activate`` scans the recent messages and
says which entries fire, why, and which a book's token budget cut. Nothing here touches Django or the database:
the conversations app calls it through ``apps.characters.selectors``.
"""
