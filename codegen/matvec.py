"""Matrix-vector kernels, one per (quant type, shape, group size), and the integer
activation quantizer they share (docs/FORMAT.md, "Integer activations")."""
from __future__ import annotations

from dataclasses import dataclass

from model.quant import (ACT_LEVELS, F16_SCALES, GROUPED, MAX_GROUP, QuantType, row_stride, scale_block,
                         values_offset)


LOWBIT = (QuantType.Q4, QuantType.Q4M, QuantType.TERNARY)   # values packed below a byte
# columns of one 16-byte block of packed weights: the MMI variants' step (ee_runtime_c/mmi.h)
MMI_BLOCK = {QuantType.Q8: 16, QuantType.Q4: 32, QuantType.Q4M: 32, QuantType.TERNARY: 64}


@dataclass(frozen=True)
class Matvec:
    """W (rows, cols) @ x (cols,) -> out (rows,)."""
    quant: QuantType
    rows: int
    cols: int
    group_size: int = 0      # q8/q4/q4m/ternary only

    def __post_init__(self) -> None:
        if self.quant not in (QuantType.F32, QuantType.F16, *GROUPED):
            raise ValueError(f"no matvec kernel for quant type {self.quant.name.lower()}")
        if self.quant in GROUPED and (self.group_size <= 0 or self.cols % self.group_size):
            raise ValueError(f"{self.quant_name} group size {self.group_size} does not divide {self.cols}")

    @property
    def template(self) -> str:
        """q4, q4m and ternary kernels have their own template (unpacking the values)."""
        return "matvec_lowbit.c.jinja" if self.quant in LOWBIT else "matvec.c.jinja"

    @property
    def int_activations(self) -> bool:
        """True when x comes quantized (xq, xs), as for q8."""
        return self.quant in GROUPED

    @property
    def quant_name(self) -> str:
        return self.quant.name.lower()

    def symbol(self) -> str:
        group = f"_g{self.group_size}" if self.quant in GROUPED else ""
        return f"matvec_{self.quant_name}_{self.rows}x{self.cols}{group}"

    def macs(self) -> int:
        return self.rows * self.cols

    def weight_bytes(self) -> int:
        return self.rows * self.row_stride

    @property
    def row_stride(self) -> int:
        return row_stride(self.quant, self.cols, self.group_size)

    @property
    def n_groups(self) -> int:
        return self.cols // self.group_size

    @property
    def scale_bytes(self) -> int:
        """Bytes of a row's scales padded to 16: where q4m's minimums start."""
        return scale_block(self.quant, self.n_groups)

    @property
    def f16_scales(self) -> bool:
        """The scales (and minimums) are f16 (q4, q4m), not f32."""
        return self.quant in F16_SCALES

    @property
    def values_offset(self) -> int:
        """Bytes of a grouped row before its values: scales (and q4m's minimums)."""
        return values_offset(self.quant, self.n_groups)

    @property
    def group_bytes(self) -> int:
        """Bytes from one group's packed values to the next (q8, q4, q4m, ternary: 16
        bytes per mmi_block columns; whole bytes where there are several groups)."""
        return self.group_size * 16 // MMI_BLOCK[self.quant]

    @property
    def mmi_block(self) -> int:
        """Columns whose weights one `lq` (16 bytes) loads in the R5900 MMI variant; 0: none."""
        return MMI_BLOCK.get(self.quant, 0)

    @property
    def mmi_blocks(self) -> int:
        """Blocks of mmi_block columns per group the R5900 MMI variant takes
        (templates/matvec_mmi.c.jinja); 0: no MMI variant. Each block is one `lq` of
        weights, so every group must start 16-byte aligned (group_size a multiple of the
        block), or there is one group per row and the columns past the last block are a
        C tail. Rows and their values start 16-byte aligned (model/quant.py row_stride)."""
        if not self.mmi_block or self.group_size < self.mmi_block:
            return 0
        if self.group_size % self.mmi_block and self.n_groups > 1:
            return 0
        return self.group_size // self.mmi_block


@dataclass(frozen=True)
class QuantizeQ8:
    """x (n,) f32 -> int16 values (n,) in [-levels, levels], with one scale for the
    vector (model/quant.py quantize_activation); returns the scale. The activations
    of every q8, q4 and ternary matvec."""
    n: int

    template = "quantize.c.jinja"
    levels = ACT_LEVELS
    max_group = MAX_GROUP

    def symbol(self) -> str:
        return f"quantize_q8_{self.n}"

    def macs(self) -> int:
        return 0

    def weight_bytes(self) -> int:
        return 0


@dataclass(frozen=True)
class Embedding:
    """One row of the token embedding table, dequantized: table[token] -> out (dim,)."""
    quant: QuantType
    dim: int
    group_size: int = 0

    @property
    def template(self) -> str:
        return "embedding_lowbit.c.jinja" if self.quant in LOWBIT else "embedding.c.jinja"

    @property
    def quant_name(self) -> str:
        return self.quant.name.lower()

    def symbol(self) -> str:
        group = f"_g{self.group_size}" if self.quant in GROUPED else ""
        return f"embed_{self.quant_name}_{self.dim}{group}"

    def macs(self) -> int:
        return 0

    def weight_bytes(self) -> int:
        return row_stride(self.quant, self.dim, self.group_size)

    @property
    def row_stride(self) -> int:
        return row_stride(self.quant, self.dim, self.group_size)

    @property
    def scale_bytes(self) -> int:
        return scale_block(self.quant, self.dim // self.group_size) if self.group_size else 0

    @property
    def f16_scales(self) -> bool:
        return self.quant in F16_SCALES

    @property
    def values_offset(self) -> int:
        return values_offset(self.quant, self.dim // self.group_size) if self.group_size else 0


@dataclass(frozen=True)
class Projection:
    """A model matrix bound to its kernel: `matmul_<role>(out, w, x, xq)` with the
    same signature whatever the quant type, so forward.c is quant-agnostic."""
    role_name: str
    kernel: Matvec
    quantizer: QuantizeQ8 | None      # q8, q4, ternary

    template = "projection.c.jinja"

    def symbol(self) -> str:
        return f"matmul_{self.role_name}"

    def macs(self) -> int:
        return self.kernel.macs()

    def weight_bytes(self) -> int:
        return self.kernel.weight_bytes()
