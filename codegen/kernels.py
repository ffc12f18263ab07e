"""The kernels one model needs, and the generated files that hold them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codegen.kv_cache import KvCache
from codegen.model_config import config_context
from codegen.matvec import Embedding, Matvec, Projection, QuantizeQ8
from codegen.render import make_environment, render
from codegen.rmsnorm import Rmsnorm
from codegen.rope import Rope
from codegen.silu import SiluMul
from codegen.softmax import Softmax
from codegen.spec import ModelSpec
from model.atomic import write_text_atomic
from model.quant import GROUPED, QuantType
from model.weights import Role, expected_shape

# Matrices of a layer and the output projection, as forward.c calls them.
PROJECTION_ROLES = (Role.WQ, Role.WK, Role.WV, Role.WO, Role.W1, Role.W3, Role.W2)
OUTPUTS = ("model_config.gen.h", "kernels.gen.h", "kernels.gen.c", "plan.gen.c")


@dataclass(frozen=True)
class KernelSet:
    spec: ModelSpec
    quantizers: tuple[QuantizeQ8, ...]
    matvecs: tuple[Matvec, ...]
    projections: tuple[Projection, ...]
    embedding: Embedding
    rmsnorm: Rmsnorm
    rope: Rope
    softmax: Softmax
    silu: SiluMul
    kv_cache: KvCache

    def kernels(self) -> list:
        """Every kernel, in the order kernels.gen.c defines them."""
        return [*self.quantizers, *self.matvecs, *self.projections, self.embedding,
                self.rmsnorm, self.rope, self.softmax, self.silu, self.kv_cache]

    @property
    def uses_f16(self) -> bool:
        """Something reads halves: weights, q4/q4m scales or the KV cache."""
        return any(k.quant == QuantType.F16 or k.f16_scales for k in (self.embedding, *self.matvecs)) or (
            self.kv_cache.quant_name == "f16")

    def macs_per_token(self) -> int:
        """Multiply-accumulates of the matrices for one token (attention excluded)."""
        n_layers = self.spec.config.n_layers
        return sum(p.macs() * (1 if p.role_name == "output" else n_layers) for p in self.projections)


def _projection(spec: ModelSpec, name: str, role: Role, shape_role: Role) -> Projection:
    kind = spec.kind(role)
    rows, cols = expected_shape(spec.config, shape_role)
    kernel = Matvec(kind.quant, rows, cols, kind.group_size)
    return Projection(name, kernel, QuantizeQ8(cols) if kind.quant in GROUPED else None)


def plan_kernels(spec: ModelSpec) -> KernelSet:
    cfg = spec.config
    projections = [_projection(spec, role.name.lower(), role, role) for role in PROJECTION_ROLES]
    projections.append(_projection(spec, "output", spec.output_role, Role.OUTPUT))
    matvecs = tuple(dict.fromkeys(p.kernel for p in projections))
    quantizers = tuple(sorted({p.quantizer for p in projections if p.quantizer}, key=lambda q: q.n))
    emb = spec.kind(Role.TOK_EMBEDDINGS)
    return KernelSet(
        spec=spec,
        quantizers=quantizers,
        matvecs=matvecs,
        projections=tuple(projections),
        embedding=Embedding(emb.quant, cfg.dim, emb.group_size),
        rmsnorm=Rmsnorm(cfg.dim, cfg.norm_eps),
        rope=Rope(cfg.head_dim, cfg.rope_theta, spec.context),
        softmax=Softmax(spec.context),
        silu=SiluMul(cfg.hidden_dim),
        kv_cache=KvCache(spec.kv_quant, cfg.n_layers, spec.context, cfg.n_kv_heads, cfg.head_dim),
    )


def render_all(spec: ModelSpec) -> dict[str, str]:
    """Generated file name -> C source."""
    env = make_environment()
    ks = plan_kernels(spec)
    plan_source = spec.plan.path.rsplit("/", 1)[-1] if spec.plan.path else "no plan file: every tensor resident"
    common = {"spec": spec, "ks": ks, "plan": spec.plan, "plan_source": plan_source}
    return {
        "model_config.gen.h": render(env, "model_config.gen.h.jinja", **common,
                                     **config_context(spec, ks)),
        "kernels.gen.h": render(env, "kernels.gen.h.jinja", **common),
        "kernels.gen.c": render(env, "kernels.gen.c.jinja", **common),
        "plan.gen.c": render(env, "plan.gen.c.jinja", **common),
    }


def generate(spec: ModelSpec, outdir: str | Path) -> list[Path]:
    """Write the generated files into outdir, each atomically; returns their paths."""
    written = []
    for name, text in render_all(spec).items():
        path = Path(outdir) / name
        write_text_atomic(path, text)
        written.append(path)
    return written
