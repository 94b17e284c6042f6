from apps.llm import services
from apps.llm.models import LLMModel


def llm_model_create(**fields) -> LLMModel:
    """A catalog row, written the way the admin writes it (so cached catalogs see it)."""
    return services.llm_model_save(model=LLMModel(**fields))


def image_model_create(**fields) -> LLMModel:
    """An image model row (``type=sd``) of the catalog, written like ``llm_model_create``."""
    return services.llm_model_save(model=LLMModel(type=LLMModel.Type.SD, **fields))
