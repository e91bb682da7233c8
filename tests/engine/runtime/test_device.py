"""Precision by hardware: native bf16 detected from the CPU's flags, forced choices, clear errors."""

from __future__ import annotations

import pytest
import torch

from engine.runtime.device import choose_precision, cpu_bf16_flags, precision_name
from engine.runtime.jobs import EngineError

CPU = torch.device("cpu")
SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n"
ZEN4 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw\nbugs\t\t: amx_bf16_is_not_a_flag_here\n"


def test_cpuinfo_flags_are_read_from_the_flags_line_only():
    assert cpu_bf16_flags(SAPPHIRE_RAPIDS) == {"amx_bf16", "avx512_bf16"}
    assert cpu_bf16_flags(ZEN4) == {"avx512_bf16"}
    assert cpu_bf16_flags(SKYLAKE) == set()
    assert cpu_bf16_flags("") == set()


@pytest.mark.parametrize(
    ("cpuinfo", "expected"), [(SAPPHIRE_RAPIDS, "bf16"), (ZEN4, "bf16"), (SKYLAKE, "fp32")]
)
def test_auto_uses_bf16_only_where_the_cpu_has_it(cpuinfo, expected):
    assert precision_name(choose_precision("auto", CPU, cpu_bf16_flags(cpuinfo))) == expected


def test_auto_detects_this_machine_consistently_with_torch():
    detected = cpu_bf16_flags()
    capabilities = torch.cpu.get_capabilities()
    assert detected == {f for f in ("amx_bf16", "avx512_bf16") if capabilities.get(f)}
    assert choose_precision("auto", CPU) == (torch.bfloat16 if detected else torch.float32)


def test_gpu_auto_is_fp16_and_forced_choices_win():
    assert choose_precision("auto", torch.device("cuda"), set()) == torch.float16
    assert choose_precision("fp32", CPU, {"amx_bf16"}) == torch.float32
    assert choose_precision("BF16", CPU, set()) == torch.bfloat16  # forced even without the hardware
    assert choose_precision("fp16", torch.device("cuda"), set()) == torch.float16


def test_bad_precisions_are_clear_errors():
    with pytest.raises(EngineError, match="fp16 needs a GPU"):
        choose_precision("fp16", CPU)
    with pytest.raises(EngineError, match="Unknown precision 'int4'"):
        choose_precision("int4", CPU)
