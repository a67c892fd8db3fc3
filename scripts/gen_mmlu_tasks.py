#!/usr/bin/env python3
"""Writes yardstick's built-in MMLU task files (crates/yardstick-tasks/tasks/mmlu/).

One file per subject, each including the shared template and tagged with its category;
one group file per category and the `mmlu` group over the four. Field values follow
lm-evaluation-harness's MMLU tasks (the prompt, the `first_n` few-shot sampler on the dev
split, size-weighted group accuracy), so prompts and group scores match lm-eval's.

Run from the repository root: python3 scripts/gen_mmlu_tasks.py
"""
from pathlib import Path

# The 57 subjects by category, as MMLU's authors group them.
CATEGORIES = {
    "stem": [
        "abstract_algebra",
        "anatomy",
        "astronomy",
        "college_biology",
        "college_chemistry",
        "college_computer_science",
        "college_mathematics",
        "college_physics",
        "computer_security",
        "conceptual_physics",
        "electrical_engineering",
        "elementary_mathematics",
        "high_school_biology",
        "high_school_chemistry",
        "high_school_computer_science",
        "high_school_mathematics",
        "high_school_physics",
        "high_school_statistics",
        "machine_learning",
    ],
    "other": [
        "business_ethics",
        "clinical_knowledge",
        "college_medicine",
        "global_facts",
        "human_aging",
        "management",
        "marketing",
        "medical_genetics",
        "miscellaneous",
        "nutrition",
        "professional_accounting",
        "professional_medicine",
        "virology",
    ],
    "social_sciences": [
        "econometrics",
        "high_school_geography",
        "high_school_government_and_politics",
        "high_school_macroeconomics",
        "high_school_microeconomics",
        "high_school_psychology",
        "human_sexuality",
        "professional_psychology",
        "public_relations",
        "security_studies",
        "sociology",
        "us_foreign_policy",
    ],
    "humanities": [
        "formal_logic",
        "high_school_european_history",
        "high_school_us_history",
        "high_school_world_history",
        "international_law",
        "jurisprudence",
        "logical_fallacies",
        "moral_disputes",
        "moral_scenarios",
        "philosophy",
        "prehistory",
        "professional_law",
        "world_religions",
    ],
}

GROUP_ALIASES = {
    "stem": "stem",
    "other": "other",
    "social_sciences": "social sciences",
    "humanities": "humanities",
}

TEMPLATE = """# MMLU prompt and metric, shared by every subject (lm-eval's default MMLU variant).
dataset_path: cais/mmlu
test_split: test
fewshot_split: dev
fewshot_config:
  sampler: first_n
output_type: multiple_choice
doc_to_text: "{{question.strip()}}\\nA. {{choices[0]}}\\nB. {{choices[1]}}\\nC. {{choices[2]}}\\nD. {{choices[3]}}\\nAnswer:"
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: answer
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main() -> None:
    out = Path("crates/yardstick-tasks/tasks/mmlu")
    out.mkdir(parents=True, exist_ok=True)
    (out / "_default_template_yaml").write_text(TEMPLATE)
    for category, subjects in CATEGORIES.items():
        for subject in subjects:
            description = (
                "The following are multiple choice questions (with answers) about "
                + " ".join(subject.split("_"))
                + ".\n\n"
            )
            (out / f"mmlu_{subject}.yaml").write_text(
                f"include: _default_template_yaml\n"
                f"task: mmlu_{subject}\n"
                f"task_alias: {subject}\n"
                f"tag: mmlu_{category}_tasks\n"
                f"dataset_name: {subject}\n"
                f"description: {yaml_string(description)}\n"
            )
        (out / f"_mmlu_{category}.yaml").write_text(
            f"group: mmlu_{category}\n"
            f"group_alias: {GROUP_ALIASES[category]}\n"
            f"task:\n  - mmlu_{category}_tasks\n"
            "aggregate_metric_list:\n  - metric: acc\n    weight_by_size: true\n"
            "metadata:\n  version: 2\n"
        )
    (out / "_mmlu.yaml").write_text(
        "group: mmlu\n"
        "task:\n" + "".join(f"  - mmlu_{c}\n" for c in CATEGORIES)
        + "aggregate_metric_list:\n  - metric: acc\n    weight_by_size: true\n"
        "metadata:\n  version: 2\n"
    )


if __name__ == "__main__":
    main()
