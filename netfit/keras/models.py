"""``keras.models``: Model, Sequential, load_model, clone_model, model_from_json."""
from ..models import *          # noqa: F401,F403
from ..models import __all__    # noqa: F401
