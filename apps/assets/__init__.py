"""Faces and pictures: a character's visual assets (identity first), the images generated from them
(selfies, probes), and the image backends that draw them.

Other apps use only the public doors: ``services`` (upload, register, promote and retire assets; generate
an image), ``selectors`` (assets, readiness, images, signed URLs), ``errors`` and ``types``.

Inside: ``images`` (decoding and checking uploads with Pillow, EXIF stripped, thumbnails), ``backends``
(one client per image backend behind one interface: the built-in Pillow renderer, AUTOMATIC1111/Forge,
ComfyUI, OpenAI-compatible images). Depends on ``characters``, ``llm`` (the image models of the catalog),
``accounts`` and ``core``.
"""
