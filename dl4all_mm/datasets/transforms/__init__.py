from .robust_load_image import (ImageLoadError, LoadImageFromFileRobust,
                                MissingImageError, TooManyBadImagesError)

__all__ = [
    'ImageLoadError', 'LoadImageFromFileRobust', 'MissingImageError',
    'TooManyBadImagesError'
]
