from .bn_recalib_hook import DomainBNRecalibHook

__all__ = ['DomainBNRecalibHook']
