# Runtime shared by every dl4all_mm config.
_base_ = 'mmpretrain::_base_/default_runtime.py'

# Registers dl4all_mm's components in mmpretrain's registries, and the safe
# checkpoint loader with mmengine (weights-only unless trusted: README, "What
# the plugin adds to mmengine, and why").
custom_imports = dict(
    imports=['dl4all_mm', 'dl4all_mm.engine.runners.use_safe_loader'],
    allow_failed_imports=False)

# Fails at once on an unwritable work dir, starts gloo for `--launcher
# pytorch` without CUDA, names empty datasets' files.
runner_type = 'mmpretrain.DL4ALLRunner'

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    # Model selection on the target validation balanced accuracy (targets
    # are imbalanced; val_evaluator must include DiagnosticMetric).
    # Written atomically; the oldest kept checkpoint removed last.
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=2,
        save_best='diagnostic/balanced_accuracy',
        rule='greater'),
    # CPU denormals flushed to zero during the run (up to 25x faster CPU
    # training), said in the log; `flush=False` or DL4ALL_KEEP_DENORMALS=1
    # keeps them. A default hook, so configs that replace custom_hooks keep it.
    flush_denormal=dict(type='FlushDenormalHook'),
)

# mmpretrain's visualizer without the `_scope_` key that inheriting from
# `mmpretrain::` adds (mmpretrain's browse_dataset.py passes every key to
# UniversalVisualizer). TensorBoard: `python tools/train.py CONFIG
# --tensorboard`, or add dict(type='TensorboardVisBackend') to vis_backends.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    _delete_=True, type='UniversalVisualizer', vis_backends=vis_backends)

custom_hooks = [
    # Heads vs dataset classes, domains, label ranges, files (before training).
    dict(type='DomainConfigCheckHook'),
    # Train vs val/test: same file, same content or same patient -> error.
    dict(type='LeakageGuardHook'),
    # NaN/inf loss -> stop, naming the iteration and domain.
    dict(type='FiniteLossHook'),
    # Re-estimate BatchNorm statistics on target batches before validation.
    dict(type='DomainBNRecalibHook', num_batches=100),
]

# Every head takes part in every loss (DomainMultiTaskHead), so DDP needs no
# unused-parameter search; this wrapper also runs on CPU (gloo).
model_wrapper_cfg = dict(
    type='DL4ALLDistributedDataParallel', find_unused_parameters=False)

randomness = dict(seed=0, deterministic=False)
