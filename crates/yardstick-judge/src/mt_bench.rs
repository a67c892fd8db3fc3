//! MT-Bench as FastChat's `llm_judge` runs it: two-turn answers generated with the
//! candidate's chat template at the category's temperature, then judged with the
//! prompts of `judge_prompts.jsonl` (reference-guided for math, reasoning and coding).

use crate::participant::{message, Participant, Said, Turn};
use crate::run::{begin, finish, participant_stage, JudgedOptions, JudgedOutcome, Scored, Stage};
use crate::task::{JudgeMode, JudgedTaskConfig};
use crate::JudgedError;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use yardstick_core::{sha256_file, sha256_hex, Sampling, TaskName};
use yardstick_engine::{attach_calls, fill_missing, Chunking, EngineError};
use yardstick_metrics::{
    load_judge_prompts, parse_pair_verdict, parse_rating, Aggregate, JudgePrompt, PairVerdict,
};
use yardstick_store::{Store, StoredItem};

/// One MT-Bench question.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Its id in the file.
    pub question_id: u64,
    /// `writing`, `math`, ...
    pub category: String,
    /// The user's turns (two in MT-Bench).
    pub turns: Vec<String>,
}

/// The categories graded against a reference answer (FastChat's `NEED_REF_CATS`).
pub const REFERENCE_CATEGORIES: &[&str] = &["math", "reasoning", "coding", "arena-hard-200"];

/// The sampling temperature FastChat's `gen_model_answer` uses for a category (0.7 for
/// one it does not list); below 1e-4 it decodes greedily.
pub fn temperature(category: &str) -> f32 {
    match category {
        "writing" | "roleplay" => 0.7,
        "extraction" | "math" | "coding" | "reasoning" | "arena-hard-200" => 0.0,
        "stem" | "humanities" => 0.1,
        _ => 0.7,
    }
}

/// Reads MT-Bench's `question.jsonl`; errors name the file, line and field.
pub fn load_questions(path: &Path) -> Result<Vec<Question>, JudgedError> {
    read_jsonl(path)?
        .into_iter()
        .map(|(line, value)| {
            let field_error = |field: &str| JudgedError::Data {
                path: path.to_owned(),
                line,
                message: format!("`{field}` is missing or has the wrong type"),
            };
            let turns = value
                .get("turns")
                .and_then(Value::as_array)
                .and_then(|t| t.iter().map(|s| s.as_str().map(str::to_owned)).collect())
                .ok_or_else(|| field_error("turns"))?;
            Ok(Question {
                question_id: value
                    .get("question_id")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| field_error("question_id"))?,
                category: value
                    .get("category")
                    .and_then(Value::as_str)
                    .ok_or_else(|| field_error("category"))?
                    .to_owned(),
                turns,
            })
        })
        .collect()
}

/// Reads reference answers (FastChat's `reference_answer/gpt-4.jsonl`): question id to
/// the first choice's turns.
pub fn load_reference_answers(path: &Path) -> Result<HashMap<u64, Vec<String>>, JudgedError> {
    read_jsonl(path)?
        .into_iter()
        .map(|(line, value)| {
            let id = value.get("question_id").and_then(Value::as_u64);
            let turns: Option<Vec<String>> = value
                .pointer("/choices/0/turns")
                .and_then(Value::as_array)
                .and_then(|t| t.iter().map(|s| s.as_str().map(str::to_owned)).collect());
            match (id, turns) {
                (Some(id), Some(turns)) => Ok((id, turns)),
                _ => Err(JudgedError::Data {
                    path: path.to_owned(),
                    line,
                    message: "`question_id` or `choices[0].turns` is missing".into(),
                }),
            }
        })
        .collect()
}

/// Each non-blank line of a JSON Lines file with its 1-based line number.
pub(crate) fn read_jsonl(path: &Path) -> Result<Vec<(usize, Value)>, JudgedError> {
    let text = std::fs::read_to_string(path).map_err(|e| JudgedError::Data {
        path: path.to_owned(),
        line: 0,
        message: format!("{e}; is --data-dir (or YARDSTICK_DATA_DIR) the shared data folder?"),
    })?;
    parse_jsonl(path, &text)
}

/// Each non-blank line of JSON Lines `text` (read from `path`) with its 1-based line
/// number; a line that is not JSON is an error naming the file and line.
pub fn parse_jsonl(path: &Path, text: &str) -> Result<Vec<(usize, Value)>, JudgedError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map(|v| (i + 1, v))
                .map_err(|e| JudgedError::Data {
                    path: path.to_owned(),
                    line: i + 1,
                    message: e.to_string(),
                })
        })
        .collect()
}

/// The four judge prompts of a mode: first turn and both turns, each general or
/// reference-guided (FastChat's `make_judge_single` / `make_judge_pairwise`).
struct Judges {
    general: JudgePrompt,
    reference: JudgePrompt,
    general_multi_turn: JudgePrompt,
    reference_multi_turn: JudgePrompt,
}

impl Judges {
    fn load(path: &Path, mode: JudgeMode) -> Result<Self, JudgedError> {
        let prompts = load_judge_prompts(path)?;
        let find = |name: &str| {
            prompts
                .iter()
                .find(|p| p.name == name)
                .cloned()
                .ok_or_else(|| JudgedError::Data {
                    path: path.to_owned(),
                    line: 0,
                    message: format!("no judge prompt named {name}"),
                })
        };
        let (general, reference) = match mode {
            JudgeMode::Single => ("single-v1", "single-math-v1"),
            JudgeMode::Pairwise => ("pair-v2", "pair-math-v1"),
        };
        Ok(Self {
            general: find(general)?,
            reference: find(reference)?,
            general_multi_turn: find(&format!("{general}-multi-turn"))?,
            reference_multi_turn: find(&format!("{reference}-multi-turn"))?,
        })
    }

    fn for_turn(&self, category: &str, turn: usize) -> &JudgePrompt {
        match (REFERENCE_CATEGORIES.contains(&category), turn) {
            (false, 1) => &self.general,
            (true, 1) => &self.reference,
            (false, _) => &self.general_multi_turn,
            (true, _) => &self.reference_multi_turn,
        }
    }
}

/// A question with its index in the file (the stored document id).
struct Doc<'q> {
    doc_id: usize,
    question: &'q Question,
}

/// Runs MT-Bench: the candidate's (and in pairwise mode the baseline's) answers, then
/// the judge's verdicts, each stage resumed from the store.
pub fn run_mt_bench(
    task: &JudgedTaskConfig,
    candidate: &mut Participant<'_>,
    mut baseline: Option<&mut Participant<'_>>,
    judge: &mut Participant<'_>,
    store: &mut Store,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    let data = &options.data_dir;
    let questions_path = task.data_file("questions", &task.questions, data)?;
    let references_path = task.data_file("reference_answers", &task.reference_answers, data)?;
    let prompts_path = task.data_file("judge_prompts", &task.judge_prompts, data)?;
    let questions = load_questions(&questions_path)?;
    let references = load_reference_answers(&references_path)?;
    let judges = Judges::load(&prompts_path, task.mode)?;
    if task.mode == JudgeMode::Pairwise && baseline.is_none() {
        return Err(JudgedError::Config(format!(
            "task {} compares the candidate with a baseline model; give --baseline MODEL_SPEC",
            task.task
        )));
    }
    let file_hash = |path: &Path| {
        sha256_file(path).map_err(|e| JudgedError::Data {
            path: path.to_owned(),
            line: 0,
            message: e.to_string(),
        })
    };
    let questions_hash = file_hash(&questions_path)?;
    let dataset_hash =
        sha256_hex(format!("{questions_hash}|{}", file_hash(&references_path)?).as_bytes());
    let evaluated = options
        .limit
        .unwrap_or(questions.len())
        .min(questions.len());
    let docs: Vec<Doc> = questions[..evaluated]
        .iter()
        .enumerate()
        .map(|(doc_id, question)| Doc { doc_id, question })
        .collect();

    let answers = answer_questions(candidate, &docs, &questions_hash, task, store, options)?;
    let baseline_answers = match baseline.as_deref_mut() {
        Some(b) => Some(answer_questions(
            b,
            &docs,
            &questions_hash,
            task,
            store,
            options,
        )?),
        None => None,
    };
    let config = json!({
        "task": task.task,
        "kind": "mt_bench",
        "mode": task.mode_name(),
        "answers": answers_identity(candidate, &questions_hash, task),
        "baseline": baseline.as_deref().map(|b| answers_identity(b, &questions_hash, task)),
        "judge": judge.identity(),
        "judge_source": judge.source,
        "judge_prompts_sha256": file_hash(&prompts_path)?,
        "judge_max_tokens": task.judge_max_tokens(),
    });
    let book = begin(
        store,
        candidate,
        &task.task,
        config,
        &dataset_hash,
        options.limit,
    )?;
    let judged: Vec<&Doc> = docs
        .iter()
        .filter(|d| {
            answers.contains_key(&d.doc_id)
                && baseline_answers
                    .as_ref()
                    .is_none_or(|b| b.contains_key(&d.doc_id))
        })
        .collect();
    let names = (
        candidate.name(),
        baseline
            .as_deref()
            .map(Participant::name)
            .unwrap_or_default(),
    );
    let computed = fill_missing(
        &judged,
        |d| d.doc_id,
        Chunking {
            task: &book.task,
            chunk_docs: options.chunk_docs,
            progress: options.progress,
        },
        store,
        &book.key,
        |missing| {
            let missing: Vec<&Doc> = missing.iter().map(|d| **d).collect();
            let mut judging = Judging {
                judge: &mut *judge,
                prompts: &judges,
                references: &references,
                max_tokens: task.judge_max_tokens(),
                task: &book.task,
            };
            match &baseline_answers {
                None => judge_single(&mut judging, &missing, &answers),
                Some(base) => judge_pairwise(&mut judging, &missing, (&answers, base), &names),
            }
        },
    )?;
    let mut items = store.load_items(&book.key, None)?;
    items.retain(|item| item.doc_id < evaluated);
    let scored = match task.mode {
        JudgeMode::Single => score_single(&items),
        JudgeMode::Pairwise => score_pairwise(&items),
    };
    finish(
        store,
        book,
        candidate,
        &items,
        Scored {
            original: questions.len(),
            evaluated,
            computed,
            ..scored
        },
        options,
    )
}

impl JudgedTaskConfig {
    /// The judge's token budget: the task file's, else FastChat's 2048.
    fn judge_max_tokens(&self) -> usize {
        self.judge_max_tokens.unwrap_or(2048)
    }

    fn mode_name(&self) -> &'static str {
        match self.mode {
            JudgeMode::Single => "single",
            JudgeMode::Pairwise => "pairwise",
        }
    }
}

/// What decides a participant's MT-Bench answers.
fn answers_identity(
    participant: &Participant<'_>,
    questions_hash: &str,
    task: &JudgedTaskConfig,
) -> String {
    format!(
        "mt_bench_answers|{}|{questions_hash}|max_new_tokens={}",
        participant.identity(),
        task.max_new_tokens
    )
}

/// A stored answer record: both turns' answers.
type Answers = BTreeMap<usize, Vec<String>>;

/// Generates (or reads back) the participant's answers to both turns of every question;
/// returns them by document id. Documents whose requests failed for good are absent.
fn answer_questions(
    participant: &mut Participant<'_>,
    docs: &[Doc],
    questions_hash: &str,
    task: &JudgedTaskConfig,
    store: &mut Store,
    options: &JudgedOptions,
) -> Result<Answers, JudgedError> {
    let identity = answers_identity(participant, questions_hash, task);
    let name = TaskName::new(format!("{}:answers", task.task));
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
        |participant, missing| answer_chunk(participant, missing, task.max_new_tokens, &name),
    )?;
    let mut answers = Answers::new();
    for item in stored {
        let turns: Option<Vec<String>> = item
            .record
            .get("answers")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_owned)).collect());
        let turns = turns.ok_or_else(|| EngineError::StoredRecord {
            task: name.to_string(),
            doc_id: item.doc_id,
            field: "answers".into(),
        })?;
        answers.insert(item.doc_id, turns);
    }
    Ok(answers)
}

/// Both turns of a chunk of questions: every first turn in one call, then every second
/// turn (which sees the first answer) in another.
fn answer_chunk(
    participant: &mut Participant<'_>,
    docs: &[&Doc],
    max_tokens: usize,
    name: &TaskName,
) -> Result<Vec<StoredItem>, EngineError> {
    let mut conversations: Vec<Vec<yardstick_tasks::ChatMessage>> = vec![Vec::new(); docs.len()];
    let mut said: Vec<Vec<Said>> = vec![Vec::new(); docs.len()];
    let turns = docs
        .iter()
        .map(|d| d.question.turns.len())
        .max()
        .unwrap_or(0);
    for turn in 0..turns {
        let mut asked = Vec::new();
        let mut requests = Vec::new();
        for (i, doc) in docs.iter().enumerate() {
            let Some(text) = doc.question.turns.get(turn) else {
                continue;
            };
            conversations[i].push(Participant::user(text));
            let temperature = temperature(&doc.question.category);
            requests.push(Turn {
                messages: conversations[i].clone(),
                sampling: if temperature < 1e-4 {
                    Sampling::Greedy
                } else {
                    Sampling::Sample {
                        temperature,
                        top_p: 1.0,
                        top_k: 0,
                        seed: (doc.question.question_id * 1000 + turn as u64) as u32,
                    }
                },
                max_tokens,
            });
            asked.push(i);
        }
        let doc_ids: Vec<usize> = asked.iter().map(|&i| docs[i].doc_id).collect();
        let answers = participant.say(name.as_str(), &doc_ids, &requests)?;
        for (i, answer) in asked.into_iter().zip(answers) {
            conversations[i].push(message("assistant", &answer.text));
            said[i].push(answer);
        }
    }
    Ok(docs
        .iter()
        .zip(said)
        .map(|(doc, said)| {
            let mut record = json!({
                "doc_id": doc.doc_id,
                "question_id": doc.question.question_id,
                "category": doc.question.category,
                "answers": said.iter().map(|s| &s.text).collect::<Vec<_>>(),
                "prompts": said.iter().map(|s| &s.prompt).collect::<Vec<_>>(),
            });
            let calls: Vec<_> = said.iter().map(|s| s.api.clone()).collect();
            attach_calls(&mut record, "api", &calls);
            StoredItem::new(doc.doc_id, record)
        })
        .collect())
}

/// One judge request: which item and turn, the prompt used, the filled-in user message.
struct Asked {
    item: usize,
    turn: usize,
    order: Option<&'static str>,
    prompt_name: String,
    system: String,
    user: String,
}

/// Sends the judge every request, in one call.
fn ask_judge(
    judge: &mut Participant<'_>,
    asked: &[Asked],
    doc_ids: &[usize],
    max_tokens: usize,
    task: &TaskName,
) -> Result<Vec<Said>, EngineError> {
    let turns: Vec<Turn> = asked
        .iter()
        .map(|a| {
            let mut messages = Vec::new();
            if !a.system.is_empty() {
                messages.push(message("system", &a.system));
            }
            messages.push(Participant::user(&a.user));
            Turn {
                messages,
                sampling: Sampling::Greedy,
                max_tokens,
            }
        })
        .collect();
    judge.say(task.as_str(), doc_ids, &turns)
}

/// The template fields of a question's turn `turn` (1-based) judged on its own
/// (`answer`) or against another answer (`answer_a`, `answer_b`).
fn fields(
    question: &Question,
    reference: Option<&Vec<String>>,
    answer_sets: &[(&str, &Vec<String>)],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let turn = |turns: &Vec<String>, i: usize| turns.get(i).cloned().unwrap_or_default();
    out.push(("question".into(), turn(&question.turns, 0)));
    out.push(("question_1".into(), turn(&question.turns, 0)));
    out.push(("question_2".into(), turn(&question.turns, 1)));
    if let Some(reference) = reference {
        out.push(("ref_answer_1".into(), turn(reference, 0)));
        out.push(("ref_answer_2".into(), turn(reference, 1)));
    }
    for (name, answers) in answer_sets {
        out.push(((*name).to_owned(), turn(answers, 0)));
        out.push((format!("{name}_1"), turn(answers, 0)));
        out.push((format!("{name}_2"), turn(answers, 1)));
    }
    out
}

fn render(
    prompt: &JudgePrompt,
    fields: &[(String, String)],
    task: &TaskName,
    doc_id: usize,
) -> Result<String, EngineError> {
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    prompt.render(&borrowed).map_err(|e| EngineError::Hook {
        task: task.to_string(),
        doc_id,
        message: e.to_string(),
    })
}

fn reference_for<'r>(
    references: &'r HashMap<u64, Vec<String>>,
    question: &Question,
    task: &TaskName,
    doc_id: usize,
) -> Result<Option<&'r Vec<String>>, EngineError> {
    if !REFERENCE_CATEGORIES.contains(&question.category.as_str()) {
        return Ok(None);
    }
    references
        .get(&question.question_id)
        .map(Some)
        .ok_or_else(|| EngineError::Hook {
            task: task.to_string(),
            doc_id,
            message: format!(
                "question {} ({}) is graded against a reference answer, and the reference \
                 file has none for it",
                question.question_id, question.category
            ),
        })
}

/// The judge and what it judges with.
struct Judging<'a, 'p> {
    judge: &'a mut Participant<'p>,
    prompts: &'a Judges,
    references: &'a HashMap<u64, Vec<String>>,
    max_tokens: usize,
    task: &'a TaskName,
}

/// Single-answer grading of both turns of each question.
fn judge_single(
    judging: &mut Judging<'_, '_>,
    docs: &[&Doc],
    answers: &Answers,
) -> Result<Vec<StoredItem>, EngineError> {
    let (judges, references, task) = (judging.prompts, judging.references, judging.task);
    let mut asked = Vec::new();
    let mut doc_ids = Vec::new();
    for (item, doc) in docs.iter().enumerate() {
        let question = doc.question;
        let reference = reference_for(references, question, task, doc.doc_id)?;
        let own = &answers[&doc.doc_id];
        let fields = fields(question, reference, &[("answer", own)]);
        for turn in 1..=question.turns.len().min(2) {
            let prompt = judges.for_turn(&question.category, turn);
            asked.push(Asked {
                item,
                turn,
                order: None,
                prompt_name: prompt.name.clone(),
                system: prompt.system_prompt.clone(),
                user: render(prompt, &fields, task, doc.doc_id)?,
            });
            doc_ids.push(doc.doc_id);
        }
    }
    let said = ask_judge(judging.judge, &asked, &doc_ids, judging.max_tokens, task)?;
    let judge_name = judging.judge.name();
    Ok(docs
        .iter()
        .enumerate()
        .map(|(item, doc)| {
            let mut judgments = Vec::new();
            let mut calls = Vec::new();
            let mut scores: Vec<Option<f64>> = Vec::new();
            for (a, s) in asked.iter().zip(&said).filter(|(a, _)| a.item == item) {
                let score = parse_rating(&s.text);
                scores.push(score);
                judgments.push(json!({
                    "turn": a.turn,
                    "prompt": a.prompt_name,
                    "user_prompt": a.user,
                    "judgment": s.text,
                    "score": score,
                }));
                calls.push(s.api.clone());
            }
            let valid: Vec<f64> = scores.iter().flatten().copied().collect();
            let mut record = json!({
                "doc_id": doc.doc_id,
                "question_id": doc.question.question_id,
                "category": doc.question.category,
                "questions": doc.question.turns,
                "answers": answers[&doc.doc_id],
                "judge": judge_name,
                "judgments": judgments,
                "metrics": ["score"],
                "score": (!valid.is_empty()).then(|| valid.iter().sum::<f64>() / valid.len() as f64),
            });
            if let Value::Object(map) = &mut record {
                for (i, score) in scores.iter().enumerate() {
                    map.insert(format!("score_turn_{}", i + 1), json!(score));
                }
            }
            attach_calls(&mut record, "judge_api", &calls);
            StoredItem::new(doc.doc_id, record)
        })
        .collect())
}

/// Pairwise grading of both turns of each question, each in both answer orders
/// (FastChat's `play_a_match_pair`: game 1 shows the candidate as A, game 2 as B).
fn judge_pairwise(
    judging: &mut Judging<'_, '_>,
    docs: &[&Doc],
    (answers, baseline): (&Answers, &Answers),
    (candidate_name, baseline_name): &(String, String),
) -> Result<Vec<StoredItem>, EngineError> {
    let (judges, references, task) = (judging.prompts, judging.references, judging.task);
    let mut asked = Vec::new();
    let mut doc_ids = Vec::new();
    for (item, doc) in docs.iter().enumerate() {
        let question = doc.question;
        let reference = reference_for(references, question, task, doc.doc_id)?;
        let (own, base) = (&answers[&doc.doc_id], &baseline[&doc.doc_id]);
        let orders = [
            (
                "candidate_first",
                fields(
                    question,
                    reference,
                    &[("answer_a", own), ("answer_b", base)],
                ),
            ),
            (
                "baseline_first",
                fields(
                    question,
                    reference,
                    &[("answer_a", base), ("answer_b", own)],
                ),
            ),
        ];
        for turn in 1..=question.turns.len().min(2) {
            let prompt = judges.for_turn(&question.category, turn);
            for (order, fields) in &orders {
                asked.push(Asked {
                    item,
                    turn,
                    order: Some(order),
                    prompt_name: prompt.name.clone(),
                    system: prompt.system_prompt.clone(),
                    user: render(prompt, fields, task, doc.doc_id)?,
                });
                doc_ids.push(doc.doc_id);
            }
        }
    }
    let said = ask_judge(judging.judge, &asked, &doc_ids, judging.max_tokens, task)?;
    let judge_name = judging.judge.name();
    Ok(docs
        .iter()
        .enumerate()
        .map(|(item, doc)| {
            let mut judgments = Vec::new();
            let mut calls = Vec::new();
            // Per turn: the verdict of each order, as "candidate", "baseline" or "tie".
            let mut games: BTreeMap<usize, Vec<Option<&'static str>>> = BTreeMap::new();
            for (a, s) in asked.iter().zip(&said).filter(|(a, _)| a.item == item) {
                let verdict = parse_pair_verdict(&s.text);
                let candidate_is_a = a.order == Some("candidate_first");
                let winner = verdict.map(|v| match (v, candidate_is_a) {
                    (PairVerdict::Tie, _) => "tie",
                    (PairVerdict::A, true) | (PairVerdict::B, false) => "candidate",
                    (PairVerdict::A, false) | (PairVerdict::B, true) => "baseline",
                });
                games.entry(a.turn).or_default().push(winner);
                judgments.push(json!({
                    "turn": a.turn,
                    "order": a.order,
                    "prompt": a.prompt_name,
                    "user_prompt": a.user,
                    "judgment": s.text,
                    "verdict": verdict.map(|v| match v {
                        PairVerdict::A => "A",
                        PairVerdict::B => "B",
                        PairVerdict::Tie => "tie",
                    }),
                    "winner": winner,
                }));
                calls.push(s.api.clone());
            }
            let outcomes: Vec<Option<&str>> = games.values().map(|g| turn_outcome(g)).collect();
            let battles: Vec<Value> = outcomes
                .iter()
                .flatten()
                .map(|o| {
                    json!({
                        "model_a": candidate_name,
                        "model_b": baseline_name,
                        "winner": match *o {
                            "win" => "model_a",
                            "loss" => "model_b",
                            _ => "tie",
                        },
                    })
                })
                .collect();
            let points: Vec<f64> = outcomes.iter().flatten().map(|o| outcome_points(o)).collect();
            let mut record = json!({
                "doc_id": doc.doc_id,
                "question_id": doc.question.question_id,
                "category": doc.question.category,
                "questions": doc.question.turns,
                "answers": answers[&doc.doc_id],
                "baseline": baseline_name,
                "baseline_answers": baseline[&doc.doc_id],
                "judge": judge_name,
                "judgments": judgments,
                "outcomes": outcomes,
                "battles": battles,
                "metrics": ["win_rate"],
                "win_rate": (!points.is_empty()).then(|| points.iter().sum::<f64>() / points.len() as f64),
            });
            attach_calls(&mut record, "judge_api", &calls);
            StoredItem::new(doc.doc_id, record)
        })
        .collect())
}

/// One turn's result from its two games, as FastChat's `show_result` counts it: a
/// game whose verdict did not parse voids the turn; a tie when either game is a tie or
/// the two orders disagree; else the winner both agree on.
fn turn_outcome(games: &[Option<&str>]) -> Option<&'static str> {
    let [Some(first), Some(second)] = games else {
        return None;
    };
    Some(if *first == "tie" || first != second {
        "tie"
    } else if *first == "candidate" {
        "win"
    } else {
        "loss"
    })
}

/// A win counts 1, a tie half (FastChat's `win_rate_adjusted`).
fn outcome_points(outcome: &str) -> f64 {
    match outcome {
        "win" => 1.0,
        "tie" => 0.5,
        _ => 0.0,
    }
}

fn number(record: &Value, field: &str) -> Option<f64> {
    record.get(field).and_then(Value::as_f64)
}

/// FastChat's single-mode summary: the mean over every judgment that parsed, overall,
/// per turn and per category; judgments that did not parse are left out and counted.
fn score_single(items: &[StoredItem]) -> Scored {
    let mut all = Vec::new();
    let mut by_turn: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    let mut by_category: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut failed = 0;
    for item in items {
        let category = item
            .record
            .get("category")
            .and_then(Value::as_str)
            .unwrap_or("");
        for judgment in item
            .record
            .get("judgments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let turn = judgment.get("turn").and_then(Value::as_u64).unwrap_or(0) as usize;
            match number(judgment, "score") {
                Some(score) => {
                    all.push(score);
                    by_turn.entry(turn).or_default().push(score);
                    by_category
                        .entry(category.to_owned())
                        .or_default()
                        .push(score);
                }
                None => failed += 1,
            }
        }
    }
    let mut metrics = vec![("score".to_owned(), Aggregate::mean(&all))];
    for (turn, scores) in &by_turn {
        metrics.push((format!("score_turn_{turn}"), Aggregate::mean(scores)));
    }
    for (category, scores) in &by_category {
        metrics.push((format!("score_{category}"), Aggregate::mean(scores)));
    }
    Scored {
        metrics,
        original: 0,
        evaluated: 0,
        computed: 0,
        failed_judgments: failed,
        extra: Map::new(),
        notes: Vec::new(),
    }
}

/// FastChat's pairwise summary: wins, losses and ties over every turn both of whose
/// games parsed; the win rate counts a tie as half a win.
fn score_pairwise(items: &[StoredItem]) -> Scored {
    let mut points = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failed = 0;
    for item in items {
        for outcome in item
            .record
            .get("outcomes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match outcome.as_str() {
                Some(o) => {
                    let o = match o {
                        "win" => "win",
                        "loss" => "loss",
                        _ => "tie",
                    };
                    *counts.entry(o).or_default() += 1;
                    points.push(outcome_points(o));
                }
                None => failed += 1,
            }
        }
    }
    let mut extra = Map::new();
    for name in ["win", "loss", "tie"] {
        extra.insert(name.into(), json!(counts.get(name).copied().unwrap_or(0)));
    }
    Scored {
        metrics: vec![("win_rate".to_owned(), Aggregate::mean(&points))],
        original: 0,
        evaluated: 0,
        computed: 0,
        failed_judgments: failed,
        extra,
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperatures_follow_fastchat() {
        assert_eq!(temperature("writing"), 0.7);
        assert_eq!(temperature("math"), 0.0);
        assert_eq!(temperature("stem"), 0.1);
        assert_eq!(temperature("something new"), 0.7);
    }

    #[test]
    fn a_turn_is_a_tie_when_the_orders_disagree() {
        assert_eq!(
            turn_outcome(&[Some("candidate"), Some("candidate")]),
            Some("win")
        );
        assert_eq!(
            turn_outcome(&[Some("baseline"), Some("baseline")]),
            Some("loss")
        );
        assert_eq!(
            turn_outcome(&[Some("candidate"), Some("baseline")]),
            Some("tie")
        );
        assert_eq!(turn_outcome(&[Some("tie"), Some("tie")]), Some("tie"));
        assert_eq!(turn_outcome(&[Some("candidate"), Some("tie")]), Some("tie"));
        assert_eq!(turn_outcome(&[Some("candidate"), None]), None);
    }

    #[test]
    fn unparsed_judgments_are_left_out_not_scored() {
        let item = |doc_id, category: &str, scores: [Option<f64>; 2]| {
            StoredItem::new(
                doc_id,
                json!({"category": category, "judgments": [
                    {"turn": 1, "score": scores[0]}, {"turn": 2, "score": scores[1]}]}),
            )
        };
        let scored = score_single(&[
            item(0, "writing", [Some(8.0), None]),
            item(1, "math", [Some(2.0), Some(5.0)]),
        ]);
        let metric = |name: &str| scored.metrics.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(scored.failed_judgments, 1);
        assert_eq!(metric("score").value, 5.0);
        assert_eq!(metric("score").count, 3);
        assert_eq!(metric("score_turn_1").value, 5.0);
        assert_eq!(metric("score_turn_2").value, 5.0);
        assert_eq!(metric("score_writing").value, 8.0);
        assert_eq!(metric("score_math").value, 3.5);
    }

    #[test]
    fn questions_load_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        std::fs::write(&path, "{\"question_id\": 1, \"category\": \"math\", \"turns\": [\"a\", \"b\"]}\n{\"question_id\": 2, \"turns\": []}\n").unwrap();
        let error = load_questions(&path).unwrap_err().to_string();
        assert!(
            error.contains("q.jsonl:2:") && error.contains("category"),
            "{error}"
        );
    }

    fn data_dir() -> std::path::PathBuf {
        let dir = std::env::var_os("YARDSTICK_DATA_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
        assert!(
            dir.join("mt_bench").is_dir(),
            "MT-Bench data missing under {}",
            dir.display()
        );
        dir
    }

    #[test]
    fn reference_categories_get_the_reference_guided_prompts_with_the_reference() {
        let data = data_dir();
        let path = data.join("mt_bench/judge_prompts.jsonl");
        let single = Judges::load(&path, JudgeMode::Single).unwrap();
        let pairwise = Judges::load(&path, JudgeMode::Pairwise).unwrap();
        let names = |j: &Judges, category: &str| {
            (
                j.for_turn(category, 1).name.clone(),
                j.for_turn(category, 2).name.clone(),
            )
        };
        assert_eq!(
            names(&single, "writing"),
            ("single-v1".into(), "single-v1-multi-turn".into())
        );
        for category in ["math", "reasoning", "coding"] {
            assert_eq!(
                names(&single, category),
                ("single-math-v1".into(), "single-math-v1-multi-turn".into())
            );
            assert_eq!(
                names(&pairwise, category),
                ("pair-math-v1".into(), "pair-math-v1-multi-turn".into())
            );
        }
        assert_eq!(
            names(&pairwise, "stem"),
            ("pair-v2".into(), "pair-v2-multi-turn".into())
        );

        let questions = load_questions(&data.join("mt_bench/question.jsonl")).unwrap();
        let references =
            load_reference_answers(&data.join("mt_bench/reference_answer/gpt-4.jsonl")).unwrap();
        assert_eq!(questions.len(), 80);
        let math = questions.iter().find(|q| q.category == "math").unwrap();
        let task = TaskName::new("mt_bench");
        let reference = reference_for(&references, math, &task, 0).unwrap().unwrap();
        let answers = vec!["A1".to_owned(), "A2".to_owned()];
        let fields = fields(math, Some(reference), &[("answer", &answers)]);
        let turn_2 = render(single.for_turn("math", 2), &fields, &task, 0).unwrap();
        let expected: [&str; 6] = [
            &math.turns[0],
            &math.turns[1],
            &reference[0],
            &reference[1],
            "A1",
            "A2",
        ];
        for text in expected {
            assert!(turn_2.contains(text), "{text} missing from {turn_2}");
        }
        // Every reference-graded question has a reference answer.
        for q in questions
            .iter()
            .filter(|q| REFERENCE_CATEGORIES.contains(&q.category.as_str()))
        {
            assert!(reference_for(&references, q, &task, 0).unwrap().is_some());
        }
    }
}
