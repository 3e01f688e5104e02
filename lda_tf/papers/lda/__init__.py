"""The LDA paper's experiments (Chen, Liu, Ye, Zhang, section 4): block compressed sensing of
natural images with a prescribed or learned sampling, CS-MRI, GD-Net/AGD-Net ablation, network
complexity, convergence past the trained phases. Entry point: ``experiments/reproduce.py --paper=lda``."""
