"""Python API: predict images, explain them with Grad-CAM, read run logs."""
from .cam import (METHODS, TargetHeadCAM, TargetHeadLogits, auto_target_layers,
                  cam_overlay, target_head)
from .inferencer import DL4ALLInferencer
from .run_logs import load_predictions, load_scalars, load_test_metrics
from .utils import (IMG_EXTENSIONS, cam_file_names, classes_from_config,
                    classes_from_meta, expand_inputs, load_config, save_csv)

__all__ = [
    'DL4ALLInferencer', 'TargetHeadCAM', 'TargetHeadLogits', 'METHODS',
    'IMG_EXTENSIONS', 'auto_target_layers', 'cam_overlay', 'target_head',
    'cam_file_names', 'classes_from_config', 'classes_from_meta',
    'expand_inputs', 'load_config', 'save_csv', 'load_predictions',
    'load_scalars', 'load_test_metrics'
]
