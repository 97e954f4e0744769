# DL4ALL Regular, ADP -> C-NMC 2019 (docs/datasets.md has the layouts).
# Everything as in adp-self_cnmc.py (patient-wise C-NMC split, pipelines,
# validation/test on the target) except the source labels and batches:
# source = ADP with its level-3 tissue-type labels (multi-label, the 33 HTT
#          codes of the "L3+" set of ADP's htt_def.py for Release1-Flat;
#          all patches, the source domain is not evaluated), read from
#   <data_root>/adp/ADP_EncodedLabels_Release1_Flat.csv
_base_ = './adp-self_cnmc.py'

# Explicit CSV columns, so that the class count (33) does not depend on
# which extra columns a copy of the CSV holds.
adp_classes = [
    'E', 'E.M', 'E.M.S', 'E.M.C', 'E.T', 'E.T.S', 'E.T.C', 'C', 'C.D', 'C.D.I',
    'C.D.R', 'C.L', 'H', 'H.E', 'H.K', 'H.Y', 'S', 'S.M', 'S.C', 'S.R', 'A',
    'A.W', 'A.M', 'M', 'N', 'N.P', 'N.R', 'N.G', 'N.G.M', 'G', 'G.O', 'G.N',
    'T'
]

# Regular: 8 source + 8 target images per step (the reference code's
# uniformBatchSize); one epoch = one pass over the target.
train_dataloader = dict(
    batch_size=8,
    batch_sampler=dict(batch_sizes=None),
    dataset=dict(
        datasets=dict(
            source=dict(level=3, classes=adp_classes))))
