# Pipelines of the paper's family (source ADP, target C-NMC 2019 or
# ALL-IDB2), as the DL4ALL reference code builds them
# (pytorch_{cnn,vit}_adp_plus_cnmc.py, `transform_adp` / `transform_cnmc`).
# The one image size of the family; a config at another size (ViT-B/16 at
# 384 px) sets its own `img_size` and rebuilds these lists from it.
img_size = 224

# The reference centre-crops ADP to 272 px and C-NMC to 450 px first: the
# full size of both datasets' images, so no crop here. Each training image
# is flipped horizontally and vertically, independently (p = 0.5 each).
flips = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
]
source_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    *flips,
    dict(type='PackInputs'),
]
# C-NMC cells are segmented on black: after the flips, a rotation by an
# angle uniform in [-90, 90] degrees, corners filled with black (the
# reference's torchvision RandomRotation(90)).
target_pipeline = [
    *source_pipeline[:-1],
    dict(type='Rotate', magnitude_range=(0, 90), magnitude_std='inf',
         prob=1.0, random_negative_prob=0.5, pad_val=0),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]
