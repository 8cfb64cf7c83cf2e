"""SeqGAN for ganforge: MLE pretraining, discriminator pretraining and policy-gradient training with
Monte Carlo rollouts (Yu et al., AAAI 2017), on the paper's synthetic oracle or on real text."""
