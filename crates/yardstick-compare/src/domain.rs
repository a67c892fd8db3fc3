//! The survey's domains, and which benchmark belongs to which.

use serde::Serialize;

/// A domain of the survey that compares open models with ChatGPT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Domain {
    /// Knowledge and commonsense: ARC, HellaSwag, MMLU, WinoGrande.
    #[serde(rename = "general")]
    General,
    /// Chat quality judged by a strong model: MT-Bench, AlpacaEval.
    #[serde(rename = "chat")]
    Chat,
    /// Function calling and tool use: BFCL.
    #[serde(rename = "agents & tools")]
    AgentsTools,
    /// Math and code: GSM8K, HumanEval, MBPP.
    #[serde(rename = "reasoning")]
    Reasoning,
    /// Retrieval from long inputs: needle in a haystack.
    #[serde(rename = "long context")]
    LongContext,
    /// Application tasks: structured output, summarisation, QA.
    #[serde(rename = "application")]
    Application,
    /// Hallucination and safety: TruthfulQA, HaluEval, AdvBench.
    #[serde(rename = "trust")]
    Trust,
    /// A benchmark none of the above claims (a user's own task).
    #[serde(rename = "other")]
    Other,
}

/// Benchmark name prefixes and their domains, first match wins.
const PREFIXES: &[(&str, Domain)] = &[
    ("arc_", Domain::General),
    ("hellaswag", Domain::General),
    ("mmlu", Domain::General),
    ("winogrande", Domain::General),
    ("piqa", Domain::General),
    ("boolq", Domain::General),
    ("openbookqa", Domain::General),
    ("drop", Domain::General),
    ("mt_bench", Domain::Chat),
    ("alpaca_eval", Domain::Chat),
    ("bfcl", Domain::AgentsTools),
    ("gsm8k", Domain::Reasoning),
    ("humaneval", Domain::Reasoning),
    ("mbpp", Domain::Reasoning),
    ("bbh", Domain::Reasoning),
    ("niah", Domain::LongContext),
    ("needle", Domain::LongContext),
    ("structured", Domain::Application),
    ("json_schema", Domain::Application),
    ("truthfulqa", Domain::Trust),
    ("halueval", Domain::Trust),
    ("advbench", Domain::Trust),
];

impl Domain {
    /// The survey's seven domains, in its order.
    pub const SURVEY: [Domain; 7] = [
        Domain::General,
        Domain::Chat,
        Domain::AgentsTools,
        Domain::Reasoning,
        Domain::LongContext,
        Domain::Application,
        Domain::Trust,
    ];

    /// The domain a benchmark (task or group name) belongs to.
    pub fn of_benchmark(name: &str) -> Domain {
        PREFIXES
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .map_or(Domain::Other, |(_, domain)| *domain)
    }

    /// How people call it.
    pub fn label(self) -> &'static str {
        match self {
            Domain::General => "general",
            Domain::Chat => "chat",
            Domain::AgentsTools => "agents & tools",
            Domain::Reasoning => "reasoning",
            Domain::LongContext => "long context",
            Domain::Application => "application",
            Domain::Trust => "trust",
            Domain::Other => "other",
        }
    }
}

impl std::fmt::Display for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benchmarks_fall_into_the_survey_domains() {
        assert_eq!(Domain::of_benchmark("arc_challenge"), Domain::General);
        assert_eq!(Domain::of_benchmark("mmlu_anatomy"), Domain::General);
        assert_eq!(Domain::of_benchmark("truthfulqa_mc2"), Domain::Trust);
        assert_eq!(Domain::of_benchmark("gsm8k"), Domain::Reasoning);
        assert_eq!(Domain::of_benchmark("humaneval_64"), Domain::Reasoning);
        assert_eq!(Domain::of_benchmark("alpaca_eval_2"), Domain::Chat);
        assert_eq!(
            Domain::of_benchmark("bfcl_simple_python"),
            Domain::AgentsTools
        );
        assert_eq!(Domain::of_benchmark("my_own_task"), Domain::Other);
    }

    #[test]
    fn labels_serialize_as_shown() {
        for domain in Domain::SURVEY {
            let json = serde_json::to_value(domain).unwrap();
            assert_eq!(json, domain.label());
        }
    }
}
