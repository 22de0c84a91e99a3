"""A conditional text VAE: p(x|z,c) p(z|c) with recognition network q(z|x,c)."""
