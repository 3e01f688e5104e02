"""The U-LDA paper's experiments (Chen, Ding, Ye, *Transferable Optimization Network for
Cross-Domain Image Reconstruction*, section 5): Tables 1-6 and Figures 6-7 with the baselines, on
converted datasets (``--data_root``) or offline stand-ins. Entry point:
``experiments/reproduce.py --paper=ulda`` (``make reproduce-ulda EXPERIMENT=...``)."""
