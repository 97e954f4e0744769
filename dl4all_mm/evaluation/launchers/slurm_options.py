"""Parse and check the Slurm options of the front ends (``--time``,
``--mem-per-run``, ``--slurm-extra``) and find submitit."""
import math
import re
from typing import Dict, Optional, Sequence

from .base import LaunchError

INSTALL = ("--launcher slurm needs submitit: pip install 'dl4all_mm[slurm]' "
           "(or pip install submitit==1.5.4)")
_TIME = re.compile(r'^(?:(?P<d>\d+)-)?(?P<rest>\d+(?::\d+){0,2})$')
_MEM = re.compile(r'^(?P<n>\d+)(?P<unit>[KMGT]?)B?$', re.IGNORECASE)


def require_submitit():
    """The ``submitit`` module, or :class:`LaunchError` saying how to
    install it."""
    try:
        import submitit
    except ImportError:
        raise LaunchError(INSTALL) from None
    return submitit


def parse_time(text) -> int:
    """Minutes of a Slurm time limit: ``MIN``, ``MIN:SEC``, ``H:MIN:SEC``,
    ``D-H``, ``D-H:MIN`` or ``D-H:MIN:SEC`` (rounded up, at least 1)."""
    match = _TIME.match(str(text).strip())
    if match is None:
        raise LaunchError(f'--time {text!r}: expected minutes or [D-]H:MM:SS '
                          '(Slurm time format), e.g. 90, 1:30:00, 2-00:00:00')
    parts = [int(p) for p in match['rest'].split(':')]
    days = int(match['d'] or 0)
    if match['d'] is not None:  # D-H[:M[:S]]
        parts += [0] * (3 - len(parts))
        hours, minutes, seconds = parts
    elif len(parts) == 3:
        hours, minutes, seconds = parts
    else:  # MIN or MIN:SEC
        hours, (minutes, seconds) = 0, (parts + [0])[:2]
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total <= 0:
        raise LaunchError(f'--time {text!r}: must be positive')
    return max(1, math.ceil(total / 60))


def parse_mem(text: Optional[str]) -> Optional[str]:
    """A Slurm ``--mem`` value (``16G``, ``4000M``; a bare number is GB)."""
    if text is None:
        return None
    match = _MEM.match(str(text).strip())
    if match is None or int(match['n']) == 0:
        raise LaunchError(f'--mem-per-run {text!r}: expected a size such as '
                          '16G or 4000M')
    return f"{match['n']}{(match['unit'] or 'G').upper()}"


def parse_extra(items: Optional[Sequence[str]]) -> Dict[str, str]:
    """``--slurm-extra KEY=VALUE`` items as sbatch options (``KEY`` without
    its leading dashes, e.g. ``account=lab`` or ``qos=short``)."""
    out = {}
    for item in items or ():
        key, sep, value = str(item).partition('=')
        key = key.strip().lstrip('-')
        if not sep or not re.fullmatch(r'[A-Za-z][A-Za-z0-9_-]*', key):
            raise LaunchError(f'--slurm-extra {item!r}: expected KEY=VALUE, '
                              'e.g. account=mylab')
        out[key.replace('_', '-')] = value
    return out


def positive_int(value, option: str, allow_none: bool = True):
    """``value`` as an int >= 1 (None passes when ``allow_none``)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LaunchError(f'{option} {value!r}: expected an integer >= 1')
    return value
