//! AlpacaEval: the candidate's output to each instruction against a reference model's,
//! judged with AlpacaEval's own annotator configs (read from the `alpaca-eval`
//! package's `evaluators_configs`, which `scripts/setup.sh` unpacks), the two outputs
//! shown in the order AlpacaEval itself draws per item; win rate and the
//! length-controlled win rate.

use crate::participant::{message, Participant, Turn};
use crate::run::{begin, finish, participant_stage, JudgedOptions, JudgedOutcome, Scored, Stage};
use crate::task::JudgedTaskConfig;
use crate::JudgedError;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use yardstick_core::{sha256_file, sha256_hex, Sampling, TaskName};
use yardstick_engine::{attach_calls, check_response_count, fill_missing, Chunking, EngineError};
use yardstick_metrics::{
    alpaca_win_rate, length_controlled_win_rate, parse_ranking, Aggregate, GamedAnnotations,
    LcAnnotation,
};
use yardstick_store::{Store, StoredItem};
use yardstick_tasks::{ChatMessage, HubConfig, PyRandom};

/// The `alpaca-eval` release whose annotator configs yardstick reads.
pub const ALPACA_EVAL_VERSION: &str = "0.6.6";

/// One row of a `model_outputs.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReferenceOutput {
    /// The instruction.
    pub instruction: String,
    /// The model's output.
    pub output: String,
    /// The model's name.
    pub generator: String,
    /// Which source set the instruction comes from.
    #[serde(default)]
    pub dataset: String,
}

/// Reads an AlpacaEval `model_outputs.json`; errors name the file and the row.
pub fn load_reference_outputs(path: &Path) -> Result<Vec<ReferenceOutput>, JudgedError> {
    let data_error = |line: usize, message: String| JudgedError::Data {
        path: path.to_owned(),
        line,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        data_error(
            0,
            format!("{e}; is --data-dir (or YARDSTICK_DATA_DIR) the shared data folder?"),
        )
    })?;
    let rows: Vec<Value> =
        serde_json::from_str(&text).map_err(|e| data_error(e.line(), e.to_string()))?;
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            serde_json::from_value(row).map_err(|e| {
                data_error(
                    0,
                    format!("row {i}: {e} (fields: instruction, output, generator)"),
                )
            })
        })
        .collect()
}

/// How an annotator's completion becomes a preference.
#[derive(Debug, Clone, PartialEq)]
enum Parser {
    /// `ranking_parser`: the rank the judge gives `model_1`.
    Ranking,
    /// `logprob_parser` (not binarized): 2 minus the probability of the numerator token
    /// among the denominator tokens as the answer's first token.
    Logprob {
        numerator: String,
        denominator: Vec<String>,
    },
}

/// An AlpacaEval annotator: its prompt template, parser and completion settings.
#[derive(Debug, Clone)]
struct Annotator {
    name: String,
    template: String,
    template_sha256: String,
    parser: Parser,
    /// The judge's token budget (`completions_kwargs.max_tokens`).
    max_tokens: usize,
    /// First tokens listed with their log-probabilities (`top_logprobs`).
    top_logprobs: usize,
}

#[derive(Deserialize)]
struct AnnotatorConfig {
    prompt_template: String,
    fn_completion_parser: String,
    #[serde(default)]
    completion_parser_kwargs: Map<String, Value>,
    #[serde(default)]
    completions_kwargs: Map<String, Value>,
}

/// Where the `alpaca-eval` package's `evaluators_configs` are: under the data directory
/// if a copy is there, else where `scripts/setup.sh` unpacks the package's wheel.
fn evaluators_configs(data_dir: &Path) -> PathBuf {
    let in_data = data_dir.join("alpaca_eval/evaluators_configs");
    if in_data.is_dir() {
        return in_data;
    }
    yardstick_models::cache_dir()
        .join("alpaca_eval")
        .join(ALPACA_EVAL_VERSION)
        .join("evaluators_configs")
}

impl Annotator {
    fn load(name: &str, data_dir: &Path) -> Result<Self, JudgedError> {
        let root = evaluators_configs(data_dir);
        let config_path = root.join(name).join("configs.yaml");
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| JudgedError::Data {
                path: path.to_owned(),
                line: 0,
                message: format!(
                    "{e}; AlpacaEval's annotator configs come from the alpaca-eval \
                     {ALPACA_EVAL_VERSION} package: run scripts/setup.sh"
                ),
            })
        };
        let text = read(&config_path)?;
        let mut configs: std::collections::BTreeMap<String, AnnotatorConfig> =
            serde_yaml::from_str(&text).map_err(|e| JudgedError::Data {
                path: config_path.clone(),
                line: e.location().map_or(0, |l| l.line()),
                message: e.to_string(),
            })?;
        let config = configs.remove(name).ok_or_else(|| JudgedError::Data {
            path: config_path.clone(),
            line: 0,
            message: format!("no annotator named {name}"),
        })?;
        let template_path = root.join(&config.prompt_template);
        let template = read(&template_path)?;
        let kwarg = |key: &str| config.completion_parser_kwargs.get(key);
        let parser = match config.fn_completion_parser.as_str() {
            "ranking_parser" => Parser::Ranking,
            "logprob_parser" if kwarg("is_binarize") == Some(&Value::Bool(false)) => {
                let numerator = kwarg("numerator_token").and_then(Value::as_str);
                let denominator: Option<Vec<String>> = kwarg("denominator_tokens")
                    .and_then(Value::as_array)
                    .and_then(|d| d.iter().map(|t| t.as_str().map(str::to_owned)).collect());
                match (numerator, denominator) {
                    (Some(n), Some(d)) => Parser::Logprob {
                        numerator: n.to_owned(),
                        denominator: d,
                    },
                    _ => {
                        return Err(JudgedError::Data {
                            path: config_path,
                            line: 0,
                            message: "logprob_parser needs numerator_token and denominator_tokens"
                                .into(),
                        })
                    }
                }
            }
            other => {
                return Err(JudgedError::Data {
                    path: config_path,
                    line: 0,
                    message: format!(
                        "annotator {name} uses fn_completion_parser {other}; yardstick reads \
                         ranking_parser and logprob_parser (is_binarize: false)"
                    ),
                })
            }
        };
        let setting = |key: &str, default: u64| {
            config
                .completions_kwargs
                .get(key)
                .and_then(Value::as_u64)
                .unwrap_or(default) as usize
        };
        Ok(Self {
            name: name.to_owned(),
            template_sha256: sha256_hex(template.as_bytes()),
            template,
            parser,
            max_tokens: setting("max_tokens", 100),
            top_logprobs: setting("top_logprobs", 5),
        })
    }

    /// The prompt for one pair, as AlpacaEval's `make_prompts` fills it: each distinct
    /// `{name}` placeholder (no whitespace inside) in order of first appearance, its
    /// first occurrence replaced by the value, one after another.
    fn fill(&self, values: &[(&str, &str)]) -> String {
        let mut prompt = self.template.clone();
        for name in placeholders(&self.template) {
            if let Some((_, value)) = values.iter().find(|(n, _)| *n == name) {
                prompt = prompt.replacen(&format!("{{{name}}}"), value, 1);
            }
        }
        prompt
    }
}

/// The distinct `{name}` placeholders of a template (the regex `{([^ \s]+?)}`), in order
/// of first appearance.
fn placeholders(template: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '{' {
            let name: String = chars[i + 1..]
                .iter()
                .take_while(|c| **c != '}' && !c.is_whitespace())
                .collect();
            let end = i + 1 + name.chars().count();
            if !name.is_empty() && chars.get(end) == Some(&'}') {
                if !out.contains(&name) {
                    out.push(name);
                }
                i = end + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// AlpacaEval's `prompt_to_chatml`: `<|im_start|>role\ncontent<|im_end|>` blocks as
/// messages, each content stripped.
fn chatml_messages(prompt: &str) -> Vec<ChatMessage> {
    prompt
        .trim()
        .split("<|im_start|>")
        .skip(1)
        .map(|block| {
            let (role, rest) = block.split_once('\n').unwrap_or((block, ""));
            let content = rest.split("<|im_end|>").next().unwrap_or("");
            message(role.trim(), content.trim())
        })
        .collect()
}

/// Whether AlpacaEval shows this item's outputs switched: its
/// `RandomSwitchTwoColumnsProcessor` draws `random.Random("is_switched_outputs" +
/// instruction + str(seed)).choices([False, True])`.
pub fn is_switched(instruction: &str, seed: u64) -> bool {
    let mut rng = PyRandom::from_str_seed(&format!("is_switched_outputs{instruction}{seed}"));
    rng.random() * 2.0 >= 1.0
}

/// One instruction with its reference output.
struct Doc<'r> {
    doc_id: usize,
    reference: &'r ReferenceOutput,
}

/// Runs AlpacaEval: the candidate's outputs, then one annotation per instruction.
pub fn run_alpaca_eval(
    task: &JudgedTaskConfig,
    candidate: &mut Participant<'_>,
    judge: &mut Participant<'_>,
    store: &mut Store,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    let reference_path = task.data_file(
        "reference_outputs",
        &task.reference_outputs,
        &options.data_dir,
    )?;
    let references = load_reference_outputs(&reference_path)?;
    let annotator_name = task
        .annotator
        .as_deref()
        .ok_or_else(|| JudgedError::Config(format!("task {} needs `annotator`", task.task)))?;
    let annotator = Annotator::load(annotator_name, &options.data_dir)?;
    let dataset_hash = sha256_file(&reference_path).map_err(|e| JudgedError::Data {
        path: reference_path.clone(),
        line: 0,
        message: e.to_string(),
    })?;
    let evaluated = options
        .limit
        .unwrap_or(references.len())
        .min(references.len());
    let docs: Vec<Doc> = references[..evaluated]
        .iter()
        .enumerate()
        .map(|(doc_id, reference)| Doc { doc_id, reference })
        .collect();
    let instructions_hash = sha256_hex(
        references
            .iter()
            .map(|r| r.instruction.as_str())
            .collect::<Vec<_>>()
            .join("\u{0}")
            .as_bytes(),
    );
    let outputs = generate_outputs(candidate, &docs, &instructions_hash, task, store, options)?;
    let reference_generator = references
        .first()
        .map(|r| r.generator.clone())
        .unwrap_or_default();
    let config = json!({
        "task": task.task,
        "kind": "alpaca_eval",
        "outputs": outputs_identity(candidate, &instructions_hash, task),
        "reference_outputs": dataset_hash,
        "annotator": annotator.name,
        "annotator_template_sha256": annotator.template_sha256,
        "judge": judge.identity(),
        "judge_source": judge.source,
        "seed": task.seed,
    });
    let book = begin(
        store,
        candidate,
        &task.task,
        config,
        &dataset_hash,
        options.limit,
    )?;
    let annotated: Vec<&Doc> = docs
        .iter()
        .filter(|d| outputs.contains_key(&d.doc_id))
        .collect();
    let candidate_name = candidate.name();
    let computed = fill_missing(
        &annotated,
        |d| d.doc_id,
        Chunking {
            task: &book.task,
            chunk_docs: options.chunk_docs,
            progress: options.progress,
        },
        store,
        &book.key,
        |missing| {
            annotate(
                judge,
                &annotator,
                missing,
                &outputs,
                (&candidate_name, task),
                &book.task,
            )
        },
    )?;
    let mut items = store.load_items(&book.key, None)?;
    items.retain(|item| item.doc_id < evaluated);
    let gamed = if task.length_controlled {
        Some(gamed_annotations(&options.data_dir))
    } else {
        None
    };
    let scored = score(&items, &reference_generator, gamed);
    finish(
        store,
        book,
        candidate,
        &items,
        Scored {
            original: references.len(),
            evaluated,
            computed,
            ..scored
        },
        options,
    )
}

fn outputs_identity(
    participant: &Participant<'_>,
    instructions_hash: &str,
    task: &JudgedTaskConfig,
) -> String {
    format!(
        "alpaca_eval_outputs|{}|{instructions_hash}|max_new_tokens={}",
        participant.identity(),
        task.max_new_tokens
    )
}

/// The candidate's output to every instruction (greedy, its chat template), by document.
fn generate_outputs(
    participant: &mut Participant<'_>,
    docs: &[Doc],
    instructions_hash: &str,
    task: &JudgedTaskConfig,
    store: &mut Store,
    options: &JudgedOptions,
) -> Result<std::collections::BTreeMap<usize, String>, JudgedError> {
    let identity = outputs_identity(participant, instructions_hash, task);
    let name = TaskName::new(format!("{}:outputs", task.task));
    let stored = participant_stage(
        participant,
        Stage {
            name: &name,
            identity: &identity,
        },
        docs,
        |d| d.doc_id,
        store,
        options,
        |participant, missing| {
            let turns: Vec<Turn> = missing
                .iter()
                .map(|d| Turn {
                    messages: vec![Participant::user(&d.reference.instruction)],
                    sampling: Sampling::Greedy,
                    max_tokens: task.max_new_tokens,
                })
                .collect();
            let doc_ids: Vec<usize> = missing.iter().map(|d| d.doc_id).collect();
            let said = participant.say(name.as_str(), &doc_ids, &turns)?;
            Ok(missing
                .iter()
                .zip(said)
                .map(|(d, s)| {
                    let mut record = json!({
                        "doc_id": d.doc_id,
                        "instruction": d.reference.instruction,
                        "output": s.text,
                        "prompt": s.prompt,
                    });
                    attach_calls(&mut record, "api", &[s.api]);
                    StoredItem::new(d.doc_id, record)
                })
                .collect())
        },
    )?;
    let mut outputs = std::collections::BTreeMap::new();
    for item in stored {
        let output = item
            .record
            .get("output")
            .and_then(Value::as_str)
            .ok_or_else(|| EngineError::StoredRecord {
                task: name.to_string(),
                doc_id: item.doc_id,
                field: "output".into(),
            })?;
        outputs.insert(item.doc_id, output.to_owned());
    }
    Ok(outputs)
}

/// One annotation per document: the pair in AlpacaEval's order, the judge's answer, the
/// preference read from it (1: the reference output is better, 2: the candidate's) with
/// the switch undone.
fn annotate(
    judge: &mut Participant<'_>,
    annotator: &Annotator,
    docs: &[&&Doc],
    outputs: &std::collections::BTreeMap<usize, String>,
    (candidate_name, task): (&str, &JudgedTaskConfig),
    task_name: &TaskName,
) -> Result<Vec<StoredItem>, EngineError> {
    let mut shown = Vec::new();
    for doc in docs {
        let reference = doc.reference;
        let output = &outputs[&doc.doc_id];
        let switch = is_switched(&reference.instruction, task.seed);
        let (first, second) = if switch {
            (output.as_str(), reference.output.as_str())
        } else {
            (reference.output.as_str(), output.as_str())
        };
        let prompt = annotator.fill(&[
            ("instruction", &reference.instruction),
            ("output_1", first),
            ("output_2", second),
        ]);
        shown.push((prompt, switch, *output == reference.output));
    }
    // AlpacaEval calls two identical outputs a draw without asking the judge.
    let asked: Vec<usize> = (0..docs.len()).filter(|&i| !shown[i].2).collect();
    let turns: Vec<Turn> = asked
        .iter()
        .map(|&i| Turn {
            messages: chatml_messages(&shown[i].0),
            sampling: Sampling::Greedy,
            max_tokens: annotator.max_tokens,
        })
        .collect();
    let doc_ids: Vec<usize> = asked.iter().map(|&i| docs[i].doc_id).collect();
    // Per document: the judge's answer, the preference over the pair as shown, API calls.
    let mut judged: Vec<(Value, Option<f64>, Vec<Option<yardstick_core::ApiCall>>)> = (0..docs
        .len())
        .map(|_| {
            (
                json!("identical outputs: a draw, not sent to the judge"),
                Some(1.5),
                Vec::new(),
            )
        })
        .collect();
    match &annotator.parser {
        Parser::Ranking => {
            let said = judge.say(task_name.as_str(), &doc_ids, &turns)?;
            for (&i, s) in asked.iter().zip(said) {
                judged[i] = (
                    json!(s.text),
                    parse_ranking(&s.text).map(f64::from),
                    vec![s.api],
                );
            }
        }
        Parser::Logprob {
            numerator,
            denominator,
        } => {
            let mut prompts = Vec::with_capacity(turns.len());
            for (turn, doc_id) in turns.iter().zip(&doc_ids) {
                prompts.push(
                    judge
                        .chat
                        .render_conversation(&turn.messages)
                        .map_err(|e| EngineError::Hook {
                            task: task_name.to_string(),
                            doc_id: *doc_id,
                            message: e.to_string(),
                        })?,
                );
            }
            let tops = judge
                .backend
                .first_token_logprobs(&prompts, annotator.top_logprobs)?;
            check_response_count(prompts.len(), tops.len())?;
            let mut calls = judge.backend.take_api_calls();
            calls.resize(prompts.len(), None);
            for ((&i, top), call) in asked.iter().zip(tops).zip(calls) {
                let preference = logprob_preference(&top, numerator, denominator);
                let listed: Vec<Value> = top.iter().map(|(t, l)| json!([t, l])).collect();
                judged[i] = (json!({"top_logprobs": listed}), preference, vec![call]);
            }
        }
    }
    Ok(docs
        .iter()
        .zip(judged)
        .zip(&shown)
        .map(|((doc, (judgment, raw, calls)), (prompt, switch, _))| {
            // The preference over the pair as shown, turned back to reference-first.
            let preference = raw.map(|p| if *switch { 3.0 - p } else { p });
            let winner = preference.map(|p| {
                if p > 1.5 {
                    "model_a"
                } else if p < 1.5 {
                    "model_b"
                } else {
                    "tie"
                }
            });
            let mut record = json!({
                "doc_id": doc.doc_id,
                "instruction": doc.reference.instruction,
                "dataset": doc.reference.dataset,
                "output_1": doc.reference.output,
                "generator_1": doc.reference.generator,
                "output_2": outputs[&doc.doc_id],
                "generator_2": candidate_name,
                "annotator": annotator.name,
                "is_switched_outputs": switch,
                "user_prompt": prompt,
                "judgment": judgment,
                "preference": preference,
                "battles": winner.map(|w| vec![json!({
                    "model_a": candidate_name,
                    "model_b": doc.reference.generator,
                    "winner": w,
                })]).unwrap_or_default(),
                "metrics": ["win"],
                "win": preference.map(|p| p - 1.0),
            });
            attach_calls(&mut record, "judge_api", &calls);
            StoredItem::new(doc.doc_id, record)
        })
        .collect())
}

/// AlpacaEval's `logprob_parser` with `is_binarize: false`, on the listed first tokens:
/// only tokens spelled exactly as the numerator or a denominator token count (a repeated
/// one keeps its last value, an absent one has probability 0); 2 minus the numerator's
/// probability among the denominator tokens. `None` when none is listed.
fn logprob_preference(
    top: &[(String, f64)],
    numerator: &str,
    denominator: &[String],
) -> Option<f64> {
    let of = |token: &str| top.iter().rev().find(|(t, _)| t == token).map(|(_, l)| *l);
    if of(numerator).is_none() && denominator.iter().all(|t| of(t).is_none()) {
        return None;
    }
    let values: Vec<f64> = denominator
        .iter()
        .map(|t| of(t).unwrap_or(f64::NEG_INFINITY))
        .collect();
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_denominator = if max.is_finite() {
        max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
    } else {
        f64::NEG_INFINITY
    };
    let numerator = of(numerator).unwrap_or(f64::NEG_INFINITY);
    let probability = (numerator - log_denominator).exp();
    Some(
        2.0 - if probability.is_nan() {
            0.0
        } else {
            probability
        },
    )
}

/// AlpacaEval's `df_gamed.csv` (the annotations of two deliberately verbose baselines
/// that the length-controlled fit is regularised towards): from the data directory, else
/// from the Hugging Face dataset `tatsu-lab/alpaca_eval` as AlpacaEval downloads it.
fn gamed_annotations(data_dir: &Path) -> Result<GamedAnnotations, String> {
    let local = data_dir.join("alpaca_eval/df_gamed.csv");
    let path = if local.is_file() {
        local
    } else {
        HubConfig::from_env()
            .dataset_file("tatsu-lab/alpaca_eval", "df_gamed.csv")
            .map_err(|e| {
                format!(
                    "the length-controlled win rate needs AlpacaEval's df_gamed.csv (Hugging \
                     Face dataset tatsu-lab/alpaca_eval): put it at {} or let the hub be \
                     reached ({e})",
                    local.display()
                )
            })?
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    GamedAnnotations::from_csv_text(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The win rate over every annotation that parsed and, given AlpacaEval's gamed
/// annotations, the length-controlled win rate (its GLM over every annotation, as
/// AlpacaEval fits it).
fn score(
    items: &[StoredItem],
    reference_generator: &str,
    gamed: Option<Result<GamedAnnotations, String>>,
) -> Scored {
    let mut preferences = Vec::new();
    let mut failed = 0;
    let mut annotations = Vec::with_capacity(items.len());
    for item in items {
        let preference = item.record.get("preference").and_then(Value::as_f64);
        match preference {
            Some(p) => preferences.push(p),
            None => failed += 1,
        }
        let chars = |field: &str| {
            item.record
                .get(field)
                .and_then(Value::as_str)
                .map_or(0, |s| s.chars().count())
        };
        annotations.push(LcAnnotation {
            preference,
            output_1_len: chars("output_1"),
            output_2_len: chars("output_2"),
            index: item.doc_id,
        });
    }
    let summary = alpaca_win_rate(&preferences);
    let mut metrics = vec![(
        "win_rate".to_owned(),
        Aggregate {
            value: summary.win_rate,
            stderr: summary.standard_error,
            count: summary.n_total,
        },
    )];
    let mut extra = Map::new();
    extra.insert("n_wins".into(), json!(summary.n_wins));
    extra.insert("n_wins_base".into(), json!(summary.n_wins_base));
    extra.insert("n_draws".into(), json!(summary.n_draws));
    extra.insert("discrete_win_rate".into(), json!(summary.discrete_win_rate));
    extra.insert("reference".into(), json!(reference_generator));
    let mut notes = Vec::new();
    match gamed.map(|g| {
        g.and_then(|g| {
            length_controlled_win_rate(&annotations, &g, false).map_err(|e| e.to_string())
        })
    }) {
        Some(Ok(lc)) => {
            metrics.push((
                "length_controlled_winrate".to_owned(),
                Aggregate {
                    value: lc.win_rate,
                    stderr: lc.standard_error,
                    count: annotations.len(),
                },
            ));
            if let Some(fit) = lc.fit {
                extra.insert(
                    "length_controlled_fit".into(),
                    json!({
                        "C": fit.c,
                        "tanh_std_delta_len": fit.coefficients.tanh_std_delta_len,
                        "instruction_difficulty": fit.coefficients.instruction_difficulty,
                        "not_gamed_baseline": fit.coefficients.not_gamed_baseline,
                    }),
                );
            }
        }
        Some(Err(message)) => {
            extra.insert("length_controlled_winrate_missing".into(), json!(message));
            notes.push(format!("no length-controlled win rate: {message}"));
        }
        None => {}
    }
    Scored {
        metrics,
        original: 0,
        evaluated: 0,
        computed: 0,
        failed_judgments: failed,
        extra,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once_each_in_order() {
        let annotator = Annotator {
            name: "t".into(),
            template: "{\n  \"a\": \"\"\"{instruction}\"\"\" {output_1}|{output_2}|{output_1}"
                .into(),
            template_sha256: String::new(),
            parser: Parser::Ranking,
            max_tokens: 100,
            top_logprobs: 5,
        };
        assert_eq!(
            placeholders(&annotator.template),
            ["instruction", "output_1", "output_2"]
        );
        let filled = annotator.fill(&[
            ("instruction", "say {output_2}"),
            ("output_1", "x"),
            ("output_2", "y"),
        ]);
        // As AlpacaEval's sequential replace does, the instruction's own `{output_2}` is
        // what the next replacement finds first.
        assert_eq!(
            filled,
            "{\n  \"a\": \"\"\"say y\"\"\" x|{output_2}|{output_1}"
        );
    }

    #[test]
    fn chatml_prompts_become_messages() {
        let messages = chatml_messages(
            "<|im_start|>system\nBe fair.\n<|im_end|>\n<|im_start|>user\nWhich?\n\n<|im_end|>",
        );
        assert_eq!(
            messages,
            vec![message("system", "Be fair."), message("user", "Which?")]
        );
    }

    #[test]
    fn logprob_preference_follows_alpaca_eval() {
        let lp = |m: f64, big: f64| vec![("m".to_owned(), m), ("M".to_owned(), big)];
        let tokens = ["m".to_owned(), "M".to_owned()];
        let p = logprob_preference(&lp(0.5f64.ln(), 0.5f64.ln()), "m", &tokens).unwrap();
        assert!((p - 1.5).abs() < 1e-12);
        let p = logprob_preference(&lp(0.9f64.ln(), 0.1f64.ln()), "m", &tokens).unwrap();
        assert!((p - 1.1).abs() < 1e-12);
        let only_big = vec![("M".to_owned(), -0.1), (" m".to_owned(), -0.2)];
        assert_eq!(logprob_preference(&only_big, "m", &tokens), Some(2.0));
        let neither = vec![("The".to_owned(), -0.1)];
        assert_eq!(logprob_preference(&neither, "m", &tokens), None);
    }

    #[test]
    fn switches_match_alpaca_eval_draws() {
        // random.Random("is_switched_outputs" + "What is 2+2?" + "0").random() = 0.0563
        assert!(!is_switched("What is 2+2?", 0));
    }

    /// Fixtures from the alpaca-eval package itself
    /// (scripts/fixtures/make_alpaca_eval_fixture.py).
    fn annotator_cases() -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/alpaca_eval/annotator_cases.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn prompts_messages_and_switches_equal_alpaca_eval() {
        let cases = annotator_cases();
        let data_dir = Path::new("/nonexistent");
        for (name, annotator_cases) in cases["annotators"].as_object().unwrap() {
            let annotator = Annotator::load(name, data_dir)
                .unwrap_or_else(|e| panic!("{e} (scripts/setup.sh unpacks the configs)"));
            assert_eq!(
                annotator.template_sha256,
                annotator_cases["prompt_template_sha256"].as_str().unwrap()
            );
            for case in annotator_cases["switch_real_instructions"]
                .as_array()
                .unwrap()
            {
                let instruction = case["instruction"].as_str().unwrap();
                assert_eq!(
                    is_switched(instruction, 0),
                    case["is_switched"],
                    "{instruction}"
                );
            }
            for case in annotator_cases["prompts"].as_array().unwrap() {
                let text = |field: &str| case[field].as_str().unwrap();
                let instruction = text("instruction");
                assert_eq!(
                    is_switched(instruction, 0),
                    case["is_switched"],
                    "{instruction}"
                );
                let prompt = annotator.fill(&[
                    ("instruction", instruction),
                    ("output_1", text("shown_output_1")),
                    ("output_2", text("shown_output_2")),
                ]);
                assert_eq!(
                    sha256_hex(prompt.as_bytes()),
                    text("prompt_sha256"),
                    "{name}: {instruction:?}"
                );
                let messages = chatml_messages(&prompt);
                let expected = case["messages"].as_array().unwrap();
                assert_eq!(messages.len(), expected.len());
                for (m, e) in messages.iter().zip(expected) {
                    assert_eq!(m.role, e["role"].as_str().unwrap());
                    assert_eq!(
                        sha256_hex(m.content.as_bytes()),
                        e["content_sha256"].as_str().unwrap(),
                        "{name}: {instruction:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn parsers_equal_alpaca_eval() {
        let cases = annotator_cases();
        for case in cases["parsers"]["ranking_parser"].as_array().unwrap() {
            let completion = case["completion"].as_str().unwrap();
            let expected = case["preference"][0].as_f64();
            assert_eq!(
                parse_ranking(completion).map(f64::from),
                expected,
                "{completion:?}"
            );
        }
        let tokens = ["m".to_owned(), "M".to_owned()];
        for case in cases["parsers"]["logprob_parser"].as_array().unwrap() {
            let top: Vec<(String, f64)> = case["top_logprobs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| {
                    (
                        pair[0].as_str().unwrap().to_owned(),
                        pair[1].as_f64().unwrap(),
                    )
                })
                .collect();
            let got = logprob_preference(&top, "m", &tokens);
            match case["preference"][0].as_f64() {
                Some(expected) => {
                    assert!((got.unwrap() - expected).abs() < 1e-12, "{case}: {got:?}")
                }
                None => assert_eq!(got, None, "{case}"),
            }
        }
    }
}
