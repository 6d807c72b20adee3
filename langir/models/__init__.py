"""Models as a registry of named constructors: `create_model("lgnet")`, `list_models()`."""

# Importing a model module registers its constructors.
from langir.models import dgspnet, lgnet, sgem_unet, unet  # noqa: E402, F401, I001
from langir.models.registry import ModelInfo, create_model, list_models, model_info, register_model

__all__ = ["ModelInfo", "create_model", "list_models", "model_info", "register_model"]
