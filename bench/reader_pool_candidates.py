"""Is there a reader pool on which #13's two precision targets can both be met? Data only:
no ranking system is run.

precision@10 >= 0.70 needs interests with at least 10 relevant papers on (nearly) every
evaluation day; twice the no-feedback baseline (a topic subscription: topics and popularity)
needs interests that are a small share of their taxonomy topic. This prints, for 86 candidate
interests (names a person would type and the phrases that define them, the bench's relevance
test), the fewest and the mean relevant papers per evaluation day of bench_relevance, the
largest share of the topic's papers that are relevant on any of those days, and how many of
the relevant papers the tagger gives that topic.

    PYTHONPATH=. .venv/bin/python -m bench.reader_pool_candidates
"""

from __future__ import annotations

from bench.bench_relevance import EVALUATION_DAYS, MIN_DAY_PAPERS, Interest, _load_days
from bot.enrich.tagger import tag

CANDIDATES: tuple[tuple[str, tuple[str, ...], str], ...] = (
 ("speculative decoding", ("speculative decoding","speculative sampling","draft model"), "efficient"),
 ("kv cache", ("kv cache","kv-cache","key-value cache"), "efficient"),
 ("llm quantization", ("quantization","quantized","low-bit"), "efficient"),
 ("mixture of experts", ("mixture of experts","mixture-of-experts","moe "), "efficient"),
 ("gaussian splatting", ("gaussian splatting","3dgs","3d gaussian"), "cv"),
 ("neural radiance fields", ("nerf","radiance field"), "cv"),
 ("point clouds", ("point cloud",), "cv"),
 ("video generation", ("video generation","video diffusion","text-to-video","video synthesis"), "gen"),
 ("text-to-image diffusion", ("text-to-image","text to image"), "gen"),
 ("image editing", ("image editing","image edit"), "gen"),
 ("flow matching", ("flow matching","rectified flow"), "gen"),
 ("vision-language-action models", ("vision-language-action","vla model","vla ","vlas"), "robotics"),
 ("autonomous driving", ("autonomous driving","self-driving","driving scene"), "robotics"),
 ("robot navigation", ("navigation",), "robotics"),
 ("robotic grasping and manipulation", ("grasp","dexterous","robotic manipulation","robot manipulation"), "robotics"),
 ("rl for llm reasoning", ("grpo","rlvr","verifiable reward"), "reasoning"),
 ("chain of thought", ("chain-of-thought","chain of thought"), "reasoning"),
 ("mathematical reasoning", ("mathematical reasoning","math reasoning","theorem proving","math problem"), "reasoning"),
 ("reward models", ("reward model",), "safety"),
 ("jailbreaks", ("jailbreak",), "safety"),
 ("red teaming and prompt injection", ("prompt injection","red teaming","red-teaming"), "safety"),
 ("llm hallucination", ("hallucinat",), "llm"),
 ("in-context learning", ("in-context learning","in-context"), "llm"),
 ("long context", ("long-context","long context"), "llm"),
 ("llm evaluation", ("llm-as-a-judge","llm as a judge","llm judge"), "llm"),
 ("tool use", ("tool use","tool-use","tool calling","function calling","tool-augmented"), "agents"),
 ("multi-agent systems", ("multi-agent",), "agents"),
 ("gui and web agents", ("gui agent","web agent","computer-use","computer use"," gui "), "agents"),
 ("deep research agents", ("deep research",), "agents"),
 ("retrieval-augmented generation", ("retrieval-augmented","retrieval augmented"," rag "), "rag"),
 ("knowledge graphs", ("knowledge graph",), "graph"),
 ("graph neural networks", ("graph neural network","gnn"), "graph"),
 ("time series forecasting", ("time series forecasting","forecasting"), "ts"),
 ("anomaly detection", ("anomaly detection","anomal"), "ml"),
 ("federated learning", ("federated",), "fl"),
 ("differential privacy", ("differential privacy","differentially private"), "privacy"),
 ("membership inference and unlearning", ("membership inference","unlearning"), "privacy"),
 ("medical image segmentation", ("segmentation",), "health"),
 ("medical imaging", ("mri","ct scan","x-ray","radiology","histopatholog","ultrasound"), "health"),
 ("clinical nlp", ("clinical notes","electronic health record","ehr"), "health"),
 ("remote sensing", ("remote sensing","satellite","aerial"), "cv"),
 ("object detection", ("object detection","detector"), "cv"),
 ("semantic segmentation", ("semantic segmentation","instance segmentation","panoptic"), "cv"),
 ("pose estimation", ("pose estimation","human pose"), "cv"),
 ("depth estimation", ("depth estimation","monocular depth"), "cv"),
 ("video understanding", ("video understanding","video question","video llm","temporal grounding","long video"), "mm"),
 ("multimodal hallucination", ("hallucinat",), "mm"),
 ("visual question answering", ("visual question answering","vqa"), "mm"),
 ("speech recognition", ("speech recognition","asr"), "speech"),
 ("text-to-speech", ("text-to-speech","tts","speech synthesis"), "speech"),
 ("code generation", ("code generation","program synthesis","code llm"), "code"),
 ("software engineering agents", ("swe-bench","software engineering","repository-level"), "code"),
 ("recommender systems", ("recommend",), "recsys"),
 ("machine translation", ("machine translation","translation"), "nlp"),
 ("low-resource languages", ("low-resource","multilingual"), "nlp"),
 ("sentiment and emotion", ("sentiment","emotion"), "nlp"),
 ("mechanistic interpretability", ("mechanistic","sparse autoencoder","circuit"), "interp"),
 ("explainability", ("explainab","saliency","attribution"), "interp"),
 ("fairness and bias", ("fairness","bias"), "fairness"),
 ("causal inference", ("causal",), "causal"),
 ("bayesian methods", ("bayesian","gaussian process"), "prob"),
 ("uncertainty quantification", ("uncertainty quantification","calibration","conformal"), "prob"),
 ("ai for science: molecules and proteins", ("molecul","protein","drug"), "science"),
 ("pde and physics-informed", ("partial differential","pde","physics-informed"), "science"),
 ("weather and climate", ("weather","climate"), "science"),
 ("optimization theory", ("convergence","convex"), "opt"),
 ("continual learning", ("continual learning","catastrophic forgetting","lifelong"), "ml"),
 ("self-supervised learning", ("self-supervised","contrastive learning"), "repr"),
 ("benchmarks and datasets", ("we introduce a benchmark","new benchmark","a benchmark for"), "bench"),
 ("llm pruning", ("pruning","sparsity"), "efficient"),
 ("parameter-efficient fine-tuning", ("lora","parameter-efficient","adapter"), "llm"),
 ("preference optimization", ("preference optimization","dpo","rlhf"), "safety"),
 ("world models", ("world model",), "rl"),
 ("offline rl", ("offline reinforcement learning","offline rl"), "rl"),
 ("multi-agent rl", ("multi-agent reinforcement","marl"), "rl"),
 ("diffusion language models", ("diffusion language model","masked diffusion","discrete diffusion"), "gen"),
 ("3d generation", ("3d generation","text-to-3d","3d asset","mesh generation"), "gen"),
 ("human motion", ("human motion","motion generation","avatar"), "cv"),
 ("embodied agents", ("embodied",), "robotics"),
 ("llm safety alignment", ("safety alignment","harmful","refusal"), "safety"),
 ("deepfake detection", ("deepfake","forgery","ai-generated image"), "cv"),
 ("education", ("education","student","tutor"), "llm"),
 ("legal and finance nlp", ("legal","financial","finance"), "nlp"),
 ("social media and misinformation", ("misinformation","fake news","social media"), "nlp"),
)


def main() -> None:
    """Print one line per candidate, most relevant papers on its leanest day first."""
    days = [(day, records) for day, records in _load_days() if len(records) >= MIN_DAY_PAPERS]
    judged = [
        [(record, set(tag(record["title"], record["abstract"], record.get("categories", ())))) for record in records]
        for _, records in days[-EVALUATION_DAYS:]
    ]
    rows = []
    for name, phrases, topic in CANDIDATES:
        interest = Interest(name, phrases, topic, True)
        counts, topic_shares, tagged_shares = [], [], []
        for papers in judged:
            relevant = [topic in topics for record, topics in papers if interest.relevant(record["title"], record["abstract"])]
            in_topic = sum(1 for _, topics in papers if topic in topics)
            counts.append(len(relevant))
            topic_shares.append(sum(relevant) / in_topic if in_topic else 0.0)
            tagged_shares.append(sum(relevant) / len(relevant) if relevant else 0.0)
        rows.append((name, min(counts), sum(counts) / len(counts), max(topic_shares), sum(tagged_shares) / len(tagged_shares)))
    for name, fewest, mean, topic_share, tagged in sorted(rows, key=lambda row: -row[1]):
        print(
            f"{name:<42} fewest a day {fewest:3d}  mean {mean:5.1f}  "
            f"largest share of its topic {topic_share:.2f}  tagged with its topic {tagged:.2f}"
        )


if __name__ == "__main__":
    main()
