"""The fixed topic taxonomy and the offline tagger.

Every paper gets 1 to 3 topic NAMES from `TAXONOMY`. The offline tagger scores each topic from
evidence: keyword phrases in the title (counted double) and abstract, plus the paper's arXiv
categories (primary counts more). It is deterministic, needs no network and tags thousands of
papers per second: text is tokenized once and every 1- to 4-word window is looked up in one
dict of phrases.

Users name topics by id (`cv`), name (`Computer Vision`) or alias (`vision`); `resolve_topic`
accepts any of those, case-insensitively, tolerant of `&`/`and`, hyphens and a plural s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from bot.core.models import Topic

# Phrase weights: STRONG evidence alone tags a paper, NORMAL needs company, WEAK only tips the
# balance. Numbers were tuned on the tuning half of tests/data/labelled_topics.jsonl only.
STRONG = 3.0
NORMAL = 1.5
WEAK = 0.6


def _topic(
    topic_id: str,
    name: str,
    aliases: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    *,
    strong: tuple[str, ...] = (),
    normal: tuple[str, ...] = (),
    weak: tuple[str, ...] = (),
) -> Topic:
    for phrase in strong:
        _WEIGHTS[(topic_id, phrase)] = STRONG
    for phrase in normal:
        _WEIGHTS[(topic_id, phrase)] = NORMAL
    for phrase in weak:
        _WEIGHTS[(topic_id, phrase)] = WEAK
    return Topic(
        id=topic_id,
        name=name,
        aliases=aliases,
        arxiv_categories=categories,
        keywords=strong + normal + weak,
    )


_WEIGHTS: dict[tuple[str, str], float] = {}

TAXONOMY: tuple[Topic, ...] = (
    _topic(
        "llm", "Large Language Models",
        ("llms", "language models", "large language model", "foundation models", "gpt"),
        (),
        strong=("large language model", "llm", "chatgpt", "gpt 4", "gpt 3", "gpt 3.5",
                "gpt 4o", "llama", "llama 2", "llama 3", "mistral", "qwen", "gemma", "claude",
                "speculative decoding", "in context learning", "chain of thought", "kv cache",
                "instruction tuning", "instruction following", "language modeling",
                "next token prediction", "prompt optimization"),
        normal=("language model", "gpt", "prompting", "prompt", "hallucination",
                "post training", "pretraining", "pre training", "supervised fine tuning", "sft",
                "decoding", "rlhf", "dpo", "direct preference optimization",
                "token", "long context", "context length", "reasoning model", "autoregressive",
                "auto regressive", "mixture of experts", "transformer", "gpt 2", "bert", "roberta",
                "generative ai", "test time scaling", "test time compute"),
        weak=("fine tuning", "finetuning", "foundation model", "attention", "instruction",
              "chatbot", "tokens", "lora"),
    ),
    _topic(
        "nlp", "NLP",
        ("natural language processing", "computational linguistics", "text", "language"),
        ("cs.CL",),
        strong=("natural language processing", "nlp", "machine translation",
                "computational linguistics", "named entity recognition", "sentiment analysis",
                "text classification", "question answering", "reading comprehension"),
        normal=("natural language", "translation", "linguistic", "linguistics", "corpus",
                "corpora", "summarization", "dialogue", "sentiment", "news", "news headline",
                "text generation", "language generation", "word embedding",
                "sentence embedding", "syntax", "semantic parsing", "tokenization", "discourse", "annotated"),
        weak=("text", "textual", "language", "languages", "word", "words", "sentence",
              "document", "social media", "headline"),
    ),
    _topic(
        "cv", "Computer Vision",
        ("vision", "image", "images", "visual", "cv"),
        ("cs.CV", "eess.IV"),
        strong=("computer vision", "image classification", "object detection",
                "semantic segmentation", "image segmentation", "image editing",
                "image generation", "gaussian splatting", "3d reconstruction", "imagenet",
                "cifar", "coco", "vision transformer", "vit", "convolutional neural network",
                "cnn", "video generation", "novel view synthesis", "point cloud",
                "image to image", "visual ssm", "visual state space", "pose estimation"),
        normal=("image", "images", "pixel", "pixels", "visual", "video", "vision", "3d",
                "segmentation", "detection", "scene", "camera", "convolutional", "photo", "rendering", "inverse rendering", "optical flow", "depth"),
        weak=("spatial", "2d", "convolution", "perceptual"),
    ),
    _topic(
        "mm", "Multimodal",
        ("multi-modal", "vision-language", "vision language", "vlm", "vlms", "multimodal llm"),
        (),
        strong=("multimodal", "multi modal", "vision language", "vision language model", "vlm",
                "mllm", "multimodal large language model", "cross modal", "text to image",
                "image text", "image captioning", "visual question answering", "vqa", "clip",
                "audio visual", "modalities", "multiple modalities", "modality"),
        normal=("visual and textual", "caption", "captions", "captioning", "grounding",
                "gaze", "multi view"),
        weak=("fusion",),
    ),
    _topic(
        "gen", "Generative Models",
        ("generative", "diffusion", "diffusion models", "gans", "gan", "flow matching", "vae"),
        (),
        strong=("diffusion model", "diffusion models", "denoising diffusion", "score based",
                "flow matching", "normalizing flow", "generative adversarial", "gan",
                "variational autoencoder", "vae", "consistency model", "schrodinger bridge",
                "discrete diffusion", "ddim", "ddpm", "latent diffusion", "stable diffusion",
                "text to image", "generative model", "generative models"),
        normal=("diffusion", "generative", "sampler", "samplers", "denoising", "image generation",
                "video generation", "bridge matching", "elbo", "evidence lower bound",
                "reverse process", "generation quality"),
        weak=("generate", "generation", "synthesis", "sampling", "autoencoder", "editing"),
    ),
    _topic(
        "rl", "Reinforcement Learning",
        ("reinforcement learning", "rl", "deep rl", "bandits", "policy learning"),
        (),
        strong=("reinforcement learning", "deep reinforcement learning", "offline rl",
                "policy gradient", "q learning", "q function", "markov decision process", "mdp",
                "mdps", "bandit", "bandits", "multi armed bandit", "regret", "actor critic", "ppo",
                "trust region", "policy optimization", "policy optimisation", "reward function",
                "reward model", "reward modeling", "inverse reinforcement learning",
                "self play", "d4rl", "atari", "mujoco", "exploration exploitation",
                "on policy", "off policy", "value function", "bellman"),
        normal=("rl", "policy", "policies", "reward", "rewards", "exploration", "agent",
                "sequential decision", "decision making", "trajectory", "trajectories",
                "imitation learning", "rlhf", "environment", "episodic", "return"),
        weak=("reward hacking", "planning", "control", "optimal control"),
    ),
    _topic(
        "robotics", "Robotics",
        ("robots", "robot", "robot learning", "embodied", "embodied ai"),
        ("cs.RO",),
        strong=("robotics", "robot", "robotic", "embodied ai", "embodied agent", "manipulation",
                "locomotion", "grasping", "humanoid", "autonomous driving", "sim to real",
                "quadruped", "drone"),
        normal=("embodied", "navigation", "motion planning", "dexterous", "vehicle"),
        weak=("simulated", "physical world"),
    ),
    _topic(
        "graph", "Graph Learning",
        ("graphs", "gnn", "gnns", "graph neural networks", "graph neural network", "graph ml"),
        ("cs.SI",),
        strong=("graph neural network", "gnn", "graph learning", "graph representation",
                "node classification", "link prediction", "graph convolutional",
                "message passing", "knowledge graph", "graph transformer", "hypergraph",
                "hyper graph", "graph deep learning", "node feature", "node features"),
        normal=("graph", "graphs", "node", "nodes", "edge", "edges", "network science",
                "community detection", "spatial network", "random graph", "simplicial"),
        weak=("network structure", "link"),
    ),
    _topic(
        "ts", "Time Series",
        ("time-series", "forecasting", "timeseries", "temporal data"),
        (),
        strong=("time series", "timeseries", "forecasting", "multivariate time series",
                "time series classification", "time series forecasting", "temporal point process",
                "event prediction"),
        normal=("forecast", "temporal", "sequential data", "anomaly detection", "multichannel", "trajectory prediction", "early warning"),
        weak=("horizon", "seasonal", "long range"),
    ),
    _topic(
        "opt", "Optimization",
        ("optimisation", "optimizers", "optimizer", "convex optimization", "training dynamics"),
        ("math.OC",),
        strong=("stochastic optimization", "convex optimization", "gradient descent", "sgd",
                "adam", "optimizer", "optimizers", "learning rate", "bilevel", "bi level",
                "bi level optimization", "first order method", "zeroth order",
                "second order optimization", "natural gradient", "momentum",
                "hyperparameter optimization", "online convex optimization", "mirror descent",
                "convergence rate", "nonconvex", "non convex", "learning rate schedule",
                "combinatorial optimization", "stepsize", "step size", "preconditioner"),
        normal=("optimization", "optimisation", "gradient", "gradients", "convergence",
                "convex", "minimization", "descent", "optimization problem", "solver",
                "stochastic gradient", "loss landscape", "hyperparameter", "training stability"),
        weak=("optimize", "optimizing", "optimal", "objective", "iteration", "iterations",
              "iterative", "curvature"),
    ),
    _topic(
        "theory", "Theory",
        ("learning theory", "ml theory", "theoretical", "theory of deep learning"),
        ("stat.TH", "math.ST", "cs.LG.theory", "math.CT", "cs.CC", "cs.FL", "cs.LO", "math.PR"),
        strong=("theorem", "theorems", "provably", "provable", "we prove", "generalization bound",
                "generalization bounds", "sample complexity", "category theory", "theoretical analysis", "theoretical guarantee",
                "theoretical guarantees", "theoretical foundation", "theoretical foundations",
                "lower bound", "upper bound", "lower bounds", "upper bounds", "neural tangent kernel",
                "random matrix theory", "pac", "minimax", "identifiability", "identifiable",
                "formal proof", "lipschitz", "information theoretic", "proof", "proofs", "prove",
                "proven", "a theory of", "learning theory",
                "statistical theory", "mathematical framework", "formal framework",
                "complexity theory", "computational complexity"),
        normal=("theory", "theoretical", "theoretically", "bound", "bounds", "convergence",
                "mathematical", "mathematically", "formal", "formally", "formalize", "formalization",
                "rigorous", "asymptotic", "asymptotically", "guarantee", "guarantees",
                "derivation", "derive", "philosophy", "intelligence",
                "expressive power", "scaling law", "scaling laws",
                "generalization"),
        weak=("analysis", "principled", "characterize", "characterization", "framework",
              "foundations", "closed form"),
    ),
    _topic(
        "efficient", "Efficient ML",
        ("efficiency", "efficient", "compression", "quantization", "pruning", "distillation",
         "inference efficiency"),
        ("cs.AR", "cs.PF"),
        strong=("quantization", "quantized", "post training quantization", "ptq", "qat", "pruning",
                "model compression", "knowledge distillation", "low rank", "sparse inference",
                "speculative decoding", "early exit", "kv cache", "int8", "int4", "fp4", "fp8",
                "mixed precision", "memory efficient", "compute efficient", "inference latency",
                "throughput", "speed up", "speedup", "acceleration", "edge device",
                "edge devices", "on device", "flops", "parameter efficient", "distributed training", "low communication", "asynchronous training", "gpu",
                "gpus", "hardware efficiency"),
        normal=("efficient", "efficiency", "compression", "latency", "compute", "memory",
                "faster", "fast", "lightweight", "distill", "distills", "distillation",
                "accelerate", "scalable", "cost", "computational cost", "linear attention",
                "sparse", "sparsity", "state space model", "ssm", "mamba", "budget"),
        weak=("small", "runtime", "parallel", "hardware", "deployment"),
    ),
    _topic(
        "interp", "Interpretability",
        ("explainability", "xai", "explainable ai", "mechanistic interpretability",
         "interpretable", "explanations"),
        (),
        strong=("interpretability", "explainability", "explainable", "xai",
                "mechanistic interpretability", "sparse autoencoder", "sparse autoencoders", "sae",
                "saes", "polysemanticity", "monosemantic", "feature attribution", "saliency",
                "attribution method", "attribution methods", "probing", "circuits", "representation engineering",
                "linear representation hypothesis", "superposition", "interpret"),
        normal=("interpretable", "explanation", "explanations", "explain", "concept",
                "concepts", "internal representations", "neurons", "features", "mechanisms",
                "transparency", "understanding", "interpretation"),
        weak=("visualization", "insight", "insights"),
    ),
    _topic(
        "fl", "Federated Learning",
        ("federated", "fl", "federated optimization"),
        (),
        strong=("federated learning", "federated", "fedavg", "federated averaging", "clients",
                "client", "client participation"),
        normal=("decentralized", "server aggregation", "heterogeneous clients", "aggregation rule"),
        weak=("collaborative", "on device"),
    ),
    _topic(
        "agents", "Agents",
        ("agent", "ai agents", "llm agents", "agentic", "multi-agent", "multi agent",
         "tool use"),
        ("cs.MA",),
        strong=("llm agent", "llm agents", "language agent", "language agents", "ai agent",
                "ai agents", "agentic", "multi agent", "multi agent system", "multi agent systems",
                "tool use", "tool calling", "web agent", "autonomous agent", "autonomous agents",
                "agent based", "agentic system", "deep research", "model context protocol", "mcp",
                "agent collaboration", "agents"),
        normal=("agent", "planning", "tools", "workflow", "workflows", "collaboration",
                "multi agent communication", "autonomous", "self improvement", "orchestration"),
        weak=("interactive", "environment", "simulation"),
    ),
    _topic(
        "safety", "Safety & Alignment",
        ("alignment", "ai safety", "safety", "rlhf", "red teaming", "jailbreak", "jailbreaks",
         "ai alignment", "safety and alignment"),
        (),
        strong=("ai safety", "alignment", "aligning", "align", "aligned", "rlhf", "preference alignment",
                "human feedback", "reinforcement learning from human feedback", "dpo",
                "direct preference optimization", "preference optimization", "preference learning",
                "jailbreak", "jailbreaks", "red teaming", "harmful", "harmlessness",
                "superalignment", "ai control", "sycophancy", "content moderation",
                "safety", "safe", "reward hacking", "human preference", "human preferences",
                "human values", "oversight", "misalignment", "backdoor", "backdoors"),
        normal=("preference", "preferences", "reward model", "reward models", "trustworthy",
                "trustworthiness", "risk", "risks", "hallucination", "hallucinations", "toxic",
                "toxicity", "guardrail", "guardrails", "monitoring", "helpfulness", "honest", "honesty", "refusal", "failures", "watermarking"),
        weak=("reliable", "reliability", "robust", "misuse"),
    ),
    _topic(
        "rag", "Retrieval & RAG",
        ("retrieval", "rag", "retrieval augmented generation", "information retrieval", "search",
         "ir", "retrieval and rag", "vector search"),
        ("cs.IR",),
        strong=("retrieval augmented generation", "retrieval augmented", "rag", "information retrieval",
                "dense retrieval", "retriever", "retrievers", "retrieval", "search engine",
                "vector retrieval", "vector search", "nearest neighbor search",
                "approximate nearest neighbor", "bm25", "reranking", "re ranking",
                "query", "queries", "document retrieval", "candidate retrieval",
                "semantic search", "indexing", "index"),
        normal=("retrieve", "retrieving", "retrieved", "search", "knowledge base", "passage",
                "passages", "documents", "evidence", "memory", "episodic memory", "recall",
                "knowledge intensive", "lookup", "semantic caching", "caching"),
        weak=("knowledge", "literature", "corpus"),
    ),
    _topic(
        "speech", "Speech & Audio",
        ("speech", "audio", "asr", "tts", "music", "sound", "speech and audio"),
        ("cs.SD", "eess.AS"),
        strong=("speech recognition", "asr", "text to speech", "tts", "speech", "audio",
                "music", "spoken", "speaker", "voice", "acoustic", "sound", "lyrics",
                "music generation", "speech synthesis", "waveform"),
        normal=("musical", "song", "songs", "transcription", "prosody", "phoneme", "listening"),
        weak=("signal", "signals"),
    ),
    _topic(
        "bench", "Datasets & Benchmarks",
        ("benchmarks", "benchmark", "datasets", "dataset", "evaluation", "evals", "datasets and benchmarks"),
        (),
        strong=("benchmark", "benchmarks", "new dataset", "novel dataset", "we release",
                "we collect", "dataset of", "evaluation suite", "leaderboard", "test suite",
                "annotated dataset", "human annotated", "expert annotated", "curated dataset",
                "evaluation framework", "we introduce a benchmark", "benchmarking", "corpus of",
                "datasets", "dataset"),
        normal=("evaluate", "evaluating", "evaluation", "annotation", "annotations", "annotated",
                "curated", "collection", "quiz", "questions", "metrics", "reproducible",
                "open source", "released"),
        weak=("data", "tasks", "comparison"),
    ),
    _topic(
        "science", "AI for Science",
        ("ai4science", "science", "scientific discovery", "physics", "chemistry", "biology",
         "materials", "ai for science"),
        ("physics", "astro-ph", "cond-mat", "quant-ph", "q-bio", "physics.chem-ph", "q-bio.BM",
         "physics.comp-ph", "physics.ao-ph", "hep-th", "hep-ph", "hep-ex", "gr-qc", "nucl-th",
         "math-ph", "nlin", "physics.bio-ph"),
        strong=("scientific discovery", "ai for science", "molecule", "molecules", "molecular",
                "protein", "proteins", "drug discovery", "materials", "chemistry", "physics",
                "quantum", "pde", "pdes", "partial differential equation",
                "physics informed", "pinn", "pinns", "climate", "weather", "astrophysics", "astronomy", "pulsar", "galaxy", "cosmological", "cosmology",
                "neutron star", "condensed matter", "battery", "batteries", "catalyst",
                "catalysts", "genomics", "genome", "rna", "dna", "single cell", "molecular simulation", "molecular dynamics", "superconductor", "nanomaterial",
                "qubit", "qubits", "entanglement", "photonic", "spin", "hypothesis discovery",
                "scientific hypothesis", "solar", "turbulence"),
        normal=("scientific", "science", "biology", "biological", "chemical", "physical",
                "simulation", "simulations", "experiment", "experimental", "spectral", "wavelength",
                "polarization", "frequency", "observation", "observations", "bio molecule",
                "bio molecules", "energy", "temperature", "numerical simulation",
                "differential equation", "matter"),
        weak=("scientists", "research", "laboratory", "modulation"),
    ),
    _topic(
        "health", "Healthcare",
        ("health", "medical", "medicine", "clinical", "healthcare", "biomedical"),
        ("q-bio.QM", "physics.med-ph"),
        strong=("medical", "clinical", "healthcare", "health care", "patient", "patients", "disease",
                "diagnosis", "radiology", "medical imaging", "ehr", "electronic health record",
                "biomedical", "cancer", "mental health", "hospital", "clinician", "clinicians",
                "suicidal", "suicide", "drug", "therapy", "eeg", "ecg", "mri", "ct scan"),
        normal=("health", "medicine", "treatment", "symptom", "symptoms", "psychological",
                "psychopathology", "emotion", "epidemic", "epidemiology", "physician"),
        weak=("bio signal", "bio signals", "heart rate", "wellbeing", "care"),
    ),
    _topic(
        "reasoning", "Reasoning",
        ("reasoning", "chain of thought", "cot", "math reasoning", "logical reasoning"),
        (),
        strong=("reasoning", "chain of thought", "cot", "mathematical reasoning", "math reasoning",
                "logical reasoning", "multi step reasoning", "commonsense reasoning",
                "theorem proving", "reasoning model", "reasoning models", "self consistency",
                "test time reasoning", "step by step", "thinking"),
        normal=("reason", "reasoner", "inference time", "test time", "deductive", "deduction",
                "logic", "logical", "planning", "puzzle", "puzzles", "arithmetic", "math",
                "olympiad", "verifier", "theory of mind"),
        weak=("problem solving", "solve", "abstract"),
    ),
    _topic(
        "code", "Code Generation",
        ("code", "coding", "program synthesis", "software engineering", "code llms"),
        ("cs.SE", "cs.PL"),
        strong=("code generation", "program synthesis", "code llm", "code llms", "coding",
                "software engineering", "vibe coding", "text to sql", "sql", "rtl", "verilog",
                "source code", "programming", "compiler", "bug", "bugs", "code completion",
                "repository", "unit test", "unit tests", "github issue"),
        normal=("code", "program", "programs", "software", "developer", "developers", "api"),
        weak=("implementation", "synthesis"),
    ),
    _topic(
        "recsys", "Recommender Systems",
        ("recommendation", "recommender", "recommenders", "recsys", "recommendations"),
        ("cs.IR",),
        strong=("recommender system", "recommender systems", "recommendation", "recommendations",
                "recommender", "collaborative filtering", "click through rate", "ctr prediction",
                "user item", "user preference", "user preferences", "personalized recommendation",
                "sequential recommendation"),
        normal=("personalized", "personalization", "engagement", "users", "items", "item",
                "ranking", "candidate"),
        weak=("user", "interest", "interests"),
    ),
    _topic(
        "privacy", "Privacy & Security",
        ("privacy", "security", "adversarial", "differential privacy", "adversarial robustness",
         "privacy and security"),
        ("cs.CR",),
        strong=("differential privacy", "differentially private", "privacy", "private",
                "privacy preserving", "membership inference", "adversarial example",
                "adversarial examples", "adversarial attack", "adversarial attacks",
                "adversarial perturbation", "adversarial perturbations", "adversarially robust",
                "adversarial robustness", "adversarial patch", "backdoor attack", "data poisoning",
                "poisoning", "gradient inversion", "machine unlearning", "unlearning", "watermark",
                "watermarking", "security", "secure", "attack", "attacks",
                "attacker", "threat model", "cryptographic", "encryption", "malicious",
                "secure computation", "multi party computation"),
        normal=("adversarial", "adversary", "robustness", "vulnerability", "vulnerabilities",
                "forget", "forgetting data", "defense", "defence", "leakage", "confidential"),
        weak=("robust", "perturbation", "perturbations", "regulations"),
    ),
    _topic(
        "fairness", "Fairness & Ethics",
        ("fairness", "ethics", "bias", "ai ethics", "responsible ai", "governance",
         "fairness and ethics", "ai policy", "society"),
        ("cs.CY",),
        strong=("fairness", "fair", "bias", "biases", "discrimination", "ethics", "ethical",
                "ai ethics", "responsible ai", "governance", "ai governance", "intersectionality",
                "gender", "inclusivity", "inclusive", "stereotype", "stereotypes",
                "demographic", "moral", "morality", "predictive multiplicity", "rashomon",
                "societal", "social impact", "accountability", "policy makers", "guidelines",
                "regulation", "education", "educational"),
        normal=("unfairness", "exclusion", "equity", "society", "social", "human rights",
                "political", "values", "norms", "public", "culture", "cultural"),
        weak=("harm", "harms", "impact"),
    ),
    _topic(
        "repr", "Representation Learning",
        ("representation learning", "self-supervised learning", "self supervised",
         "contrastive learning", "ssl", "embeddings", "representations"),
        (),
        strong=("representation learning", "self supervised", "self supervised learning",
                "contrastive learning", "contrastive", "disentanglement", "disentangled",
                "disentangling", "embedding space", "learned representations", "masked autoencoder",
                "masked autoencoders", "feature learning", "dimension reduction",
                "dimensionality reduction", "manifold learning", "umap", "t sne",
                "sentence embeddings", "representation space", "latent space", "latent spaces",
                "simclr", "byol"),
        normal=("representation", "representations", "embedding", "embeddings", "latent",
                "unsupervised", "pretext task", "encoder", "encoders", "clustering",
                "class collapse", "features"),
        weak=("similarity", "augmentation", "invariance"),
    ),
    _topic(
        "causal", "Causal Inference",
        ("causality", "causal", "causal discovery", "treatment effects", "counterfactual"),
        ("stat.ME", "econ.EM"),
        strong=("causal inference", "causal", "causality", "counterfactual", "counterfactuals",
                "treatment effect", "treatment effects", "confounding", "confounder",
                "confounders", "instrumental variable", "causal discovery", "structural causal model",
                "do calculus", "mediation analysis", "intervention", "interventions",
                "observational data", "sensitivity analysis", "causal effect", "causal effects"),
        normal=("treatment", "effect", "effects", "mediation"),
        weak=("cause", "causes"),
    ),
    _topic(
        "prob", "Probabilistic ML",
        ("bayesian", "probabilistic", "uncertainty", "uncertainty quantification",
         "gaussian processes", "probabilistic machine learning", "sampling"),
        ("stat.ML", "stat.CO"),
        strong=("bayesian", "bayesian inference", "variational inference", "uncertainty quantification",
                "uncertainty estimation", "conformal prediction", "gaussian process",
                "gaussian processes", "calibration", "calibrated", "miscalibration",
                "recalibration", "markov chain monte carlo", "mcmc", "langevin", "monte carlo",
                "posterior", "posterior inference", "density estimation", "probabilistic model",
                "probabilistic models", "hidden markov model", "probabilistic circuits",
                "importance sampling", "log concave",
                "out of distribution detection", "ood detection", "stochastic differential equation",
                "partition function", "markov chain",
                "markov chains", "probabilistic"),
        normal=("uncertainty", "probability", "probabilities", "stochastic", "distribution",
                "distributions", "likelihood", "prior", "variational", "sampling", "samples",
                "density", "entropy", "kl divergence", "gaussian", "mixture model",
                "exponential family", "risk", "ensemble", "ensembles", "variance"),
        weak=("noise", "random", "statistical", "estimator", "estimators", "inference"),
    ),
    _topic(
        "ml", "Machine Learning",
        ("general", "general ml", "other", "ml", "machine learning"),
        ("cs.LG", "stat.ML"),
        weak=("machine learning", "deep learning", "neural network", "neural networks"),
    ),
)
"""Every topic, in display order. `ml` (Machine Learning) is the catch-all for papers with no
specific evidence."""

# A general-ML paper may also be tagged with a specific topic; "ml" is only used when nothing
# else has evidence, so its categories and keywords never compete with specific topics.
_FALLBACK_ID = "ml"

# How a paper's arXiv categories count: the primary category weighs more than cross-lists.
_PRIMARY_CATEGORY = 3.0
_OTHER_CATEGORY = 1.5
_TITLE_FACTOR = 2.0
# Keep a second or third topic only when its score is at least this share of the best one and
# at least this absolute score.
_RELATIVE_CUTOFF = 0.35
_ABSOLUTE_CUTOFF = 10.0
MAX_TAGS = 3

_BY_ID: dict[str, Topic] = {topic.id: topic for topic in TAXONOMY}
_BY_NAME: dict[str, Topic] = {topic.name: topic for topic in TAXONOMY}


# --- resolving what users type -------------------------------------------------------------


def _norm_label(text: str) -> str:
    """Lowercase, `&` -> `and`, hyphens/underscores/slashes -> spaces, squeeze spaces."""
    text = text.strip().lower().replace("&", " and ")
    text = re.sub(r"[-_/.,]+", " ", text)
    return " ".join(text.split())


def _singular(label: str) -> str:
    """Drop one trailing plural s from the last word (`llms` -> `llm`, `agents` -> `agent`)."""
    if len(label) > 3 and label.endswith("s") and not label.endswith(("ss", "us", "is")):
        return label[:-1]
    return label


@lru_cache(maxsize=1)
def _lookup() -> dict[str, Topic]:
    table: dict[str, Topic] = {}
    for topic in TAXONOMY:
        for label in (topic.id, topic.name, *topic.aliases):
            for key in (_norm_label(label), _singular(_norm_label(label))):
                table.setdefault(key, topic)
    return table


def resolve_topic(text: str) -> Topic | None:
    """A topic from its id, name or alias (`cv`, `Computer Vision`, `vision`), or None.

    Case-insensitive; `&` and `and` are the same; hyphens count as spaces; a plural s is ignored.
    """
    if not text or len(text) > 100:
        return None
    label = _norm_label(text)
    table = _lookup()
    return table.get(label) or table.get(_singular(label)) or table.get(label.replace(" ", ""))


def topic_by_id(topic_id: str) -> Topic:
    """The topic with this id; raises KeyError for an unknown id."""
    return _BY_ID[topic_id]


def topic_ids(names: Sequence[str]) -> tuple[str, ...]:
    """Topic ids for topic names (unknown names are skipped)."""
    return tuple(_BY_NAME[name].id for name in names if name in _BY_NAME)


_RELATED: dict[str, tuple[str, ...]] = {
    "llm": ("nlp", "reasoning", "agents"),
    "nlp": ("llm", "rag", "speech"),
    "cv": ("mm", "gen", "robotics"),
    "mm": ("cv", "llm", "speech"),
    "gen": ("cv", "prob", "mm"),
    "rl": ("robotics", "agents", "safety"),
    "robotics": ("rl", "cv", "agents"),
    "graph": ("repr", "science", "recsys"),
    "ts": ("prob", "science", "health"),
    "opt": ("theory", "efficient", "rl"),
    "theory": ("opt", "prob", "interp"),
    "efficient": ("llm", "opt", "cv"),
    "interp": ("safety", "llm", "theory"),
    "fl": ("privacy", "efficient", "opt"),
    "agents": ("llm", "rl", "reasoning"),
    "safety": ("interp", "llm", "privacy"),
    "rag": ("llm", "nlp", "recsys"),
    "speech": ("mm", "nlp", "gen"),
    "bench": ("llm", "nlp", "cv"),
    "science": ("health", "graph", "gen"),
    "health": ("science", "cv", "nlp"),
    "reasoning": ("llm", "agents", "code"),
    "code": ("llm", "agents", "reasoning"),
    "recsys": ("rag", "graph", "llm"),
    "privacy": ("safety", "fl", "fairness"),
    "fairness": ("safety", "privacy", "nlp"),
    "repr": ("cv", "theory", "graph"),
    "causal": ("prob", "theory", "health"),
    "prob": ("theory", "gen", "causal"),
    "ml": ("theory", "opt", "repr"),
}


def related_topics(topic_id: str) -> tuple[Topic, ...]:
    """Neighbouring topics to suggest when a topic search finds nothing (unknown id: none)."""
    return tuple(_BY_ID[other] for other in _RELATED.get(topic_id, ()) if other in _BY_ID)


# --- the offline tagger ----------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_MAX_PHRASE = 5


def fold_plural(word: str) -> str:
    """A tiny, consistent plural folding ("transformers" -> "transformer", "studies" -> "study"),
    applied to paper text and to keywords or queries alike (tagger and alert matching)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _tokens(text: str) -> list[str]:
    # Apostrophes and TeX accents vanish; "Schrödinger" and "Schrodinger" both become one word.
    text = text.lower().replace("ö", "o").replace("\\\"o", "o").replace("'s ", " ")
    return [fold_plural(word) for word in _WORD.findall(text)]


@lru_cache(maxsize=1)
def _phrase_table() -> dict[tuple[str, ...], tuple[tuple[int, float], ...]]:
    """Token tuple -> ((topic index, weight), ...). One phrase may count for several topics."""
    table: dict[tuple[str, ...], dict[int, float]] = {}
    for index, topic in enumerate(TAXONOMY):
        for phrase in topic.keywords:
            key = tuple(_tokens(phrase))
            if not key or len(key) > _MAX_PHRASE:
                continue
            weight = _WEIGHTS[(topic.id, phrase)]
            slot = table.setdefault(key, {})
            slot[index] = max(slot.get(index, 0.0), weight)
    return {key: tuple(sorted(value.items())) for key, value in table.items()}


@lru_cache(maxsize=1)
def _category_table() -> dict[str, tuple[int, ...]]:
    table: dict[str, list[int]] = {}
    for index, topic in enumerate(TAXONOMY):
        for category in topic.arxiv_categories:
            table.setdefault(category.lower(), []).append(index)
    return {key: tuple(value) for key, value in table.items()}


def _phrase_hits(tokens: list[str]) -> dict[tuple[str, ...], int]:
    """How often each known phrase occurs; overlapping phrases all count (on purpose: "graph
    neural network" is evidence for the phrase and for "graph")."""
    table = _phrase_table()
    hits: dict[tuple[str, ...], int] = {}
    count = len(tokens)
    for start in range(count):
        for length in range(1, min(_MAX_PHRASE, count - start) + 1):
            key = tuple(tokens[start : start + length])
            if key in table:
                hits[key] = hits.get(key, 0) + 1
    return hits


def topic_scores(title: str, abstract: str, categories: Sequence[str] = ()) -> dict[str, float]:
    """Evidence score per topic id (only topics with evidence), for tagging and for tuning."""
    table = _phrase_table()
    scores = [0.0] * len(TAXONOMY)
    for hits, factor in ((_phrase_hits(_tokens(title)), _TITLE_FACTOR), (_phrase_hits(_tokens(abstract)), 1.0)):
        for key, count in hits.items():
            # Repeats add less than the first mention: a word used five times is not five topics.
            repeat = 1.0 + 0.35 * min(count - 1, 3)
            for index, weight in table[key]:
                scores[index] += weight * factor * repeat
    categories_table = _category_table()
    for position, category in enumerate(categories):
        lowered = category.lower()
        matches = categories_table.get(lowered) or categories_table.get(lowered.split(".")[0], ())
        for index in matches:
            scores[index] += _PRIMARY_CATEGORY if position == 0 else _OTHER_CATEGORY
    return {TAXONOMY[i].id: round(s, 3) for i, s in enumerate(scores) if s > 0}


def tag(title: str, abstract: str, categories: Sequence[str] = ()) -> tuple[str, ...]:
    """1 to 3 topic NAMES for a paper, best first. Deterministic; offline.

    A topic is kept when its score is high in absolute terms and close enough to the best
    topic's; when no specific topic has enough evidence, the best one with any evidence is
    used, and with none at all the catch-all "Machine Learning".
    """
    scores = topic_scores(title, abstract, categories)
    fallback = scores.pop(_FALLBACK_ID, 0.0)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], _ORDER[item[0]]))
    if not ranked:
        del fallback  # the catch-all is the answer whatever its score
        return (_BY_ID[_FALLBACK_ID].name,)
    best = ranked[0][1]
    chosen = [ranked[0][0]]
    for topic_id, score in ranked[1:MAX_TAGS]:
        if score >= _ABSOLUTE_CUTOFF and score >= _RELATIVE_CUTOFF * best:
            chosen.append(topic_id)
    return tuple(_BY_ID[topic_id].name for topic_id in chosen)


_ORDER: dict[str, int] = {topic.id: index for index, topic in enumerate(TAXONOMY)}
