"""Machine translation with attention: a conditional VAE whose decoder attends to a
bidirectional LSTM's states of the source sentence at every step.

    config.py    the model's sizes and choices (NMTConfig), each with its help and limits
    run_config.py  a training run (NMTTrainConfig): its data, knobs, and NMTConfig's options
    params.py    the parameters: names, shapes, initialization
    encoder.py   the bidirectional LSTM encoder (the second LSTM reads each sentence
                 reversed within its own length)
    decoder.py   the attention decoder, unrolled for training and one step for generation
    model.py     the loss (negative conditional ELBO) and its gradient, composed by hand
    nmt.py       the model behind the model interface (``minivae.interface``)
    tasks.py     BLEU (greedy, beam, prior mean), sampled translations, attention heat maps
    heatmap.py   the attention heat-map figure

docs/translation.md walks through it; tutorials/10_attention.py derives the attention op.
"""
