from .dl4all_ddp import DL4ALLDistributedDataParallel

__all__ = ['DL4ALLDistributedDataParallel']
