"""`lsgan`: least-squares GAN with a-b-c coding (Mao et al. 2017)."""

from __future__ import annotations

from torch import Tensor

from ganlab.losses.base import Loss
from ganlab.plugins.options import number


class LeastSquares(Loss):
    """Mao et al. 2017, eq. 2, on the raw discriminator output D(x) (no sigmoid):

        min_D 1/2 E_x[(D(x) - b)^2] + 1/2 E_z[(D(G(z)) - a)^2]
        min_G 1/2 E_z[(D(G(z)) - c)^2]

    a is the code for fake, b for real, c the value G wants D to believe for fake data.
    Default a=0, b=1, c=1 (the 0-1 coding); a=-1, b=1, c=0 satisfies b - c = 1 and
    b - a = 2, under which minimising the objective minimises the Pearson chi^2 divergence.
    """

    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0):
        a, b, c = number("lsgan", "a", a), number("lsgan", "b", b), number("lsgan", "c", c)
        if a == b:
            raise ValueError(f"lsgan needs a != b (fake and real codes), got a=b={a}")
        self.a, self.b, self.c = a, b, c

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return 0.5 * ((real_logits - self.b) ** 2).mean() + 0.5 * ((fake_logits - self.a) ** 2).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return 0.5 * ((fake_logits - self.c) ** 2).mean()
