"""Matrix-vector kernels, one per (quant type, shape, group size), and the q8
activation quantizer they share (docs/FORMAT.md, "Integer activations")."""
from __future__ import annotations

from dataclasses import dataclass

from model.quant import QuantType, align16, row_stride


@dataclass(frozen=True)
class Matvec:
    """W (rows, cols) @ x (cols,) -> out (rows,)."""
    quant: QuantType
    rows: int
    cols: int
    group_size: int = 0      # q8 only

    template = "matvec.c.jinja"

    def __post_init__(self) -> None:
        if self.quant not in (QuantType.F32, QuantType.F16, QuantType.Q8):
            raise ValueError(f"no matvec kernel for quant type {self.quant.name.lower()}")
        if self.quant == QuantType.Q8 and (self.group_size <= 0 or self.cols % self.group_size):
            raise ValueError(f"q8 group size {self.group_size} does not divide {self.cols}")

    @property
    def quant_name(self) -> str:
        return self.quant.name.lower()

    def symbol(self) -> str:
        group = f"_g{self.group_size}" if self.quant == QuantType.Q8 else ""
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
        """Bytes of a q8 row before its int8 values: scales padded to 16."""
        return align16(4 * self.n_groups)


@dataclass(frozen=True)
class QuantizeQ8:
    """x (n,) f32 -> int8 values (n,), stored as int16, with one scale for the vector;
    returns the scale."""
    n: int

    template = "quantize.c.jinja"

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

    template = "embedding.c.jinja"

    @property
    def quant_name(self) -> str:
        return self.quant.name.lower()

    def symbol(self) -> str:
        group = f"_g{self.group_size}" if self.quant == QuantType.Q8 else ""
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
        return align16(4 * (self.dim // self.group_size)) if self.group_size else 0


@dataclass(frozen=True)
class Projection:
    """A model matrix bound to its kernel: `matmul_<role>(out, w, x, xq)` with the
    same signature whatever the quant type, so forward.c is quant-agnostic."""
    role_name: str
    kernel: Matvec
    quantizer: QuantizeQ8 | None      # q8 only

    template = "projection.c.jinja"

    def symbol(self) -> str:
        return f"matmul_{self.role_name}"

    def macs(self) -> int:
        return self.kernel.macs()

    def weight_bytes(self) -> int:
        return self.kernel.weight_bytes()
