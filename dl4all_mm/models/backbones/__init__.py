from .efficientnet_lite0 import EfficientNetLite0, map_lite0_state_dict

__all__ = ['EfficientNetLite0', 'map_lite0_state_dict']
