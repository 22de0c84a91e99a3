"""The hierarchical text VAE: two stochastic layers z2 -> z1 -> x (``hvae.HierarchicalVAE``)."""
