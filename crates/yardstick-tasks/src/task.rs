//! A task with its documents, turned into prompts exactly as lm-eval builds them.

use crate::chat::{ChatFormat, ChatMessage};
use crate::config::{LoadedConfig, OutputType};
use crate::dataset::DataDir;
use crate::generation::{AnswerFilter, CodeMetric, GenerateDoc, GenerationMetric, GenerationSpec};
use crate::hooks::{self, Hook};
use crate::pyrandom::PyRandom;
use crate::template::Templates;
use crate::TaskError;
use serde_json::Value;
use std::sync::Arc;
use yardstick_core::{
    is_python_whitespace, sha256_hex, GenerateRequest, LoglikelihoodRequest, TaskName,
};

/// Metrics yardstick computes, per output type (also lm-eval's defaults when a task
/// names none).
fn supported_metrics(output_type: OutputType) -> &'static [&'static str] {
    match output_type {
        OutputType::GenerateUntil => &["exact_match"],
        _ => &["acc", "acc_norm"],
    }
}

/// The metrics a task asks for in `metric_list`, else lm-eval's default.
fn metric_names(loaded: &LoadedConfig) -> Vec<String> {
    match &loaded.config.metric_list {
        Some(list) if !list.is_empty() => list.iter().map(|m| m.metric.to_string()).collect(),
        _ => supported_metrics(loaded.config.output_type.unwrap_or_default())
            .iter()
            .map(|m| (*m).to_owned())
            .collect(),
    }
}

/// lm-eval's default few-shot seed.
pub const FEWSHOT_SEED: u64 = 1234;

/// A loaded task: its config, its evaluation documents and its few-shot pool.
pub struct Task {
    name: TaskName,
    loaded: LoadedConfig,
    eval_split: String,
    docs: Vec<Value>,
    dataset_hash: String,
    fewshot_docs: Vec<Value>,
    num_fewshot: usize,
    hooks: TaskHooks,
    generation: Option<GenerationSpec>,
    templates: Templates,
    chat: Option<Arc<ChatFormat>>,
    system_instruction: Option<String>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.name)
            .field("docs", &self.docs.len())
            .field("num_fewshot", &self.num_fewshot)
            .finish()
    }
}

/// One multiple-choice document rendered into lm-eval's requests.
#[derive(Debug, Clone, PartialEq)]
pub struct MultipleChoiceDoc {
    /// Index of the document in the evaluation split.
    pub doc_id: usize,
    /// The document as read from the dataset (after `process_docs`).
    pub doc: Value,
    /// One `loglikelihood(context, continuation)` request per choice, in choice order.
    /// Usually every request shares one context (description, few-shot examples, the
    /// question) and the continuation is the target delimiter and the choice; in
    /// lm-eval's multiple-input tasks (WinoGrande) each choice is part of the context
    /// and the continuation is the same for all.
    pub requests: Vec<LoglikelihoodRequest>,
    /// The answer options as `doc_to_choice` lists them (their lengths normalise
    /// `acc_norm`).
    pub choices: Vec<String>,
    /// Index of the correct option.
    pub gold: usize,
    /// `doc_to_target` as lm-eval prints it in its samples (`str(target)`).
    pub target: String,
}

impl MultipleChoiceDoc {
    /// The first request's context: what lm-eval hashes as the sample's prompt.
    pub fn prompt(&self) -> &str {
        self.requests.first().map_or("", |r| r.context.as_str())
    }
}

/// The few-shot sampler's state: examples are drawn for documents in order from one
/// `random.Random(1234)`, so a document's prompt does not depend on `limit`.
struct FewshotPrefixes {
    rng: PyRandom,
    drop_eval_doc: bool,
    first_n: bool,
}

impl FewshotPrefixes {
    /// The system turn (description) and solved examples for the next document in
    /// order.
    fn next_prefix(&mut self, task: &Task, doc_id: usize) -> Result<Vec<Turn>, TaskError> {
        let doc = &task.docs[doc_id];
        let description = match &task.loaded.config.description {
            Some(template) => task.render_text(template, doc, doc_id, "description")?,
            None => String::new(),
        };
        let system = maybe_delimit(
            task.system_instruction.as_deref(),
            &description,
            &task.fewshot_delimiter(),
        );
        let mut turns = Vec::new();
        if !system.is_empty() {
            turns.push(Turn::new("system", system, ""));
        }
        if task.num_fewshot == 0 {
            return Ok(turns);
        }
        let pool = &task.fewshot_docs;
        let picked: Vec<&Value> = if self.first_n {
            pool.iter().take(task.num_fewshot).collect()
        } else {
            let drawn = (task.num_fewshot + usize::from(self.drop_eval_doc)).min(pool.len());
            self.rng
                .sample_indices(pool.len(), drawn)
                .into_iter()
                .map(|i| &pool[i])
                .filter(|example| !self.drop_eval_doc || *example != doc)
                .take(task.num_fewshot)
                .collect()
        };
        for example in picked {
            let (question, answer) = task.labeled_example(example, doc_id)?;
            turns.push(Turn::new("user", question, task.target_delimiter()));
            turns.push(Turn::new("assistant", answer, task.fewshot_delimiter()));
        }
        Ok(turns)
    }
}

/// One turn of a prompt, as lm-eval's `Message`: as plain text, its content followed by
/// its delimiter; in a chat, a message (the delimiter dropped).
#[derive(Debug, Clone)]
struct Turn {
    role: &'static str,
    content: String,
    delimiter: String,
}

impl Turn {
    fn new(role: &'static str, content: impl Into<String>, delimiter: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            delimiter: delimiter.into(),
        }
    }

    fn message(&self, content: String) -> ChatMessage {
        ChatMessage {
            role: self.role.to_owned(),
            content,
        }
    }
}

/// lm-eval's `maybe_delimit`: `prefix` and `suffix` joined, with the delimiter only
/// when neither has whitespace at the join.
fn maybe_delimit(prefix: Option<&str>, suffix: &str, delimiter: &str) -> String {
    match prefix {
        None | Some("") => suffix.to_owned(),
        Some(prefix) if suffix.is_empty() => prefix.to_owned(),
        Some(prefix) => {
            let spaced =
                prefix.ends_with(is_python_whitespace) || suffix.starts_with(is_python_whitespace);
            if spaced {
                format!("{prefix}{suffix}")
            } else {
                format!("{prefix}{delimiter}{suffix}")
            }
        }
    }
}

/// What `doc_to_text` gives: a prompt, or (multiple-input tasks) the index of the
/// right choice, whose text then goes into the context.
enum DocText {
    Prompt(String),
    ChoiceIndex(usize),
}

impl Task {
    /// Loads the documents a task needs: the evaluation split, and the few-shot split
    /// when `num_fewshot` (the override, else the file's) is above zero.
    pub fn load(
        loaded: LoadedConfig,
        data: &DataDir,
        num_fewshot: Option<usize>,
    ) -> Result<Self, TaskError> {
        let config = &loaded.config;
        let name = config
            .task
            .clone()
            .ok_or_else(|| loaded.field_error("task", "missing: every task file names its task"))?;
        let output_type = config.output_type.unwrap_or_default();
        if !matches!(
            output_type,
            OutputType::MultipleChoice | OutputType::GenerateUntil
        ) {
            return Err(loaded.field_error(
                "output_type",
                format!(
                    "{output_type:?} tasks are not supported yet; multiple_choice and generate_until are"
                ),
            ));
        }
        let eval_split = config
            .test_split
            .clone()
            .or_else(|| config.validation_split.clone())
            .ok_or_else(|| {
                loaded.field_error("test_split", "set test_split or validation_split")
            })?;
        let supported = supported_metrics(output_type);
        // Generation metrics are checked when their spec is read.
        if let Some(unsupported) = metric_names(&loaded)
            .into_iter()
            .filter(|_| output_type != OutputType::GenerateUntil)
            .find(|m| !supported.contains(&m.as_str()))
        {
            return Err(loaded.field_error(
                "metric_list",
                format!(
                    "metric `{unsupported}` is not supported for {output_type:?} tasks yet (supported: {})",
                    supported.join(", ")
                ),
            ));
        }
        let generation = if output_type == OutputType::GenerateUntil {
            Some(GenerationSpec::from_config(&loaded)?)
        } else {
            None
        };
        let hooks = TaskHooks::resolve(&loaded)?;
        let docs = hooks.process_docs(&name, data.load_split(&name, &loaded, &eval_split)?)?;
        let dataset_hash = sha256_hex(serde_json::to_string(&docs).unwrap_or_default().as_bytes());
        // lm-eval keeps a task's own `num_fewshot: 0` over the command line's count.
        let num_fewshot = match config.num_fewshot {
            Some(0) => 0,
            own => num_fewshot.or(own).unwrap_or(0),
        };
        let fewshot_docs = if num_fewshot > 0 {
            let split = config
                .fewshot_split
                .clone()
                .or_else(|| config.training_split.clone())
                .or_else(|| config.validation_split.clone())
                .unwrap_or_else(|| eval_split.clone());
            let docs = data.load_split(&name, &loaded, &split)?;
            match hooks.fewshot_samples {
                Some(Hook::MbppFewshotSamples) => hooks::mbpp_fewshot_samples(&docs)
                    .map_err(|e| loaded.field_error("fewshot_config", e))?,
                _ => hooks.process_docs(&name, docs)?,
            }
        } else {
            Vec::new()
        };
        Ok(Self {
            name: TaskName::new(name),
            loaded,
            eval_split,
            docs,
            dataset_hash,
            fewshot_docs,
            num_fewshot,
            hooks,
            generation,
            templates: Templates::new(),
            chat: None,
            system_instruction: None,
        })
    }

    /// The metrics to report, in `metric_list` order (a pass@k hook reports one per k).
    pub fn metric_names(&self) -> Vec<String> {
        match &self.generation {
            Some(spec) => spec.metric_names(),
            None => metric_names(&self.loaded),
        }
    }

    /// The task's name.
    pub fn name(&self) -> &TaskName {
        &self.name
    }

    /// The resolved configuration.
    pub fn config(&self) -> &LoadedConfig {
        &self.loaded
    }

    /// How many few-shot examples precede each question.
    pub fn num_fewshot(&self) -> usize {
        self.num_fewshot
    }

    /// The split being evaluated.
    pub fn eval_split(&self) -> &str {
        &self.eval_split
    }

    /// Number of documents in the evaluation split.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether the evaluation split is empty.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The task version from `metadata.version`.
    pub fn version(&self) -> Option<f64> {
        self.loaded
            .config
            .metadata
            .as_ref()
            .and_then(|m| m.get("version"))
            .and_then(serde_yaml::Value::as_f64)
    }

    /// A hash of everything that decides the prompts and the metrics: the resolved config,
    /// the shot count and seed. Results are only reused under the same hash.
    pub fn config_hash(&self) -> String {
        let mut config = format!(
            "{:?}|fewshot={}|seed={FEWSHOT_SEED}|split={}",
            self.loaded.config, self.num_fewshot, self.eval_split
        );
        if let Some(chat) = &self.chat {
            config.push_str(&format!("|{}", chat.fingerprint()));
        }
        if let Some(system) = &self.system_instruction {
            config.push_str(&format!("|system={system:?}"));
        }
        sha256_hex(config.as_bytes())
    }

    /// A hash of the evaluation documents (computed once, when they are loaded).
    pub fn dataset_hash(&self) -> &str {
        &self.dataset_hash
    }

    /// The built-in `process_results` transform, when the task names one (TruthfulQA
    /// MC2's); otherwise the engine computes `acc`/`acc_norm`.
    pub fn results_hook(&self) -> Option<Hook> {
        self.hooks.process_results
    }

    /// Renders the first `limit` documents (all when `None`). Few-shot examples are drawn
    /// in document order from one `random.Random(1234)`, as lm-eval draws them, so a
    /// document's prompt does not depend on `limit`.
    pub fn multiple_choice_docs(
        &self,
        limit: Option<usize>,
    ) -> Result<Vec<MultipleChoiceDoc>, TaskError> {
        if self.output_type() != OutputType::MultipleChoice {
            return Err(self
                .loaded
                .field_error("output_type", "this is not a multiple_choice task"));
        }
        let count = limit.map_or(self.docs.len(), |l| l.min(self.docs.len()));
        let mut prefixes = self.fewshot_prefixes();
        // In a chat the answer starts the assistant's turn, with no delimiter.
        let delimiter = if self.chat.is_some() {
            String::new()
        } else {
            self.target_delimiter()
        };
        (0..count)
            .map(|doc_id| {
                let doc = &self.docs[doc_id];
                let prefix = prefixes.next_prefix(self, doc_id)?;
                let choices = self.doc_to_choice(doc, doc_id)?;
                let target = self.resolve("doc_to_target", doc, doc_id)?;
                let (requests, gold) = match self.doc_to_text(doc, doc_id)? {
                    DocText::Prompt(text) => {
                        let context = self.prompt(prefix, text, doc_id)?;
                        let requests = choices
                            .iter()
                            .map(|c| LoglikelihoodRequest::new(&context, format!("{delimiter}{c}")))
                            .collect();
                        (requests, self.gold_index(&target, doc_id, &choices)?)
                    }
                    DocText::ChoiceIndex(gold) => {
                        let continuation = format!("{delimiter}{}", value_text(&target));
                        let requests = choices
                            .iter()
                            .map(|c| {
                                let context = self.prompt(prefix.clone(), c.clone(), doc_id)?;
                                Ok(LoglikelihoodRequest::new(context, &continuation))
                            })
                            .collect::<Result<_, TaskError>>()?;
                        (requests, self.check_index(gold, doc_id, &choices)?)
                    }
                };
                Ok(MultipleChoiceDoc {
                    doc_id,
                    doc: doc.clone(),
                    requests,
                    choices,
                    gold,
                    target: value_text(&target),
                })
            })
            .collect()
    }

    /// A generation task's answer filters (`filter_list`), in file order.
    pub fn answer_filters(&self) -> &[AnswerFilter] {
        self.generation.as_ref().map_or(&[], |g| &g.filters)
    }

    /// A generation task's `exact_match` score of an extracted answer against its
    /// target; `None` when the task is scored otherwise.
    pub fn exact_match(&self, answer: &str, target: &str) -> Option<f64> {
        match &self.generation.as_ref()?.metric {
            GenerationMetric::ExactMatch(metric) => Some(metric.score(answer, target)),
            GenerationMetric::Code(_) => None,
        }
    }

    /// A code task's metric: its candidates are run with the tests.
    pub fn code_metric(&self) -> Option<&CodeMetric> {
        match &self.generation.as_ref()?.metric {
            GenerationMetric::Code(code) => Some(code),
            GenerationMetric::ExactMatch(_) => None,
        }
    }

    /// The request kind of the task.
    pub fn output_type(&self) -> OutputType {
        self.loaded.config.output_type.unwrap_or_default()
    }

    /// Renders the first `limit` documents of a `generate_until` task into generation
    /// requests: description, few-shot examples (each question, target delimiter, answer,
    /// few-shot delimiter) and the question, with the task's `generation_kwargs`.
    pub fn generate_docs(&self, limit: Option<usize>) -> Result<Vec<GenerateDoc>, TaskError> {
        let Some(GenerationSpec {
            settings, repeats, ..
        }) = &self.generation
        else {
            return Err(self
                .loaded
                .field_error("output_type", "this is not a generate_until task"));
        };
        let count = limit.map_or(self.docs.len(), |l| l.min(self.docs.len()));
        let mut prefixes = self.fewshot_prefixes();
        (0..count)
            .map(|doc_id| {
                let doc = &self.docs[doc_id];
                let prefix = prefixes.next_prefix(self, doc_id)?;
                let question = match self.doc_to_text(doc, doc_id)? {
                    DocText::Prompt(text) => text,
                    DocText::ChoiceIndex(index) => index.to_string(),
                };
                let target = self.resolve("doc_to_target", doc, doc_id)?;
                Ok(GenerateDoc {
                    doc_id,
                    doc: doc.clone(),
                    request: GenerateRequest {
                        prompt: self.prompt(prefix, question, doc_id)?,
                        until: settings.until.clone(),
                        max_gen_toks: settings.max_gen_toks,
                        sampling: settings.sampling,
                    },
                    generation_kwargs: settings.as_logged.clone(),
                    target: value_text(&target),
                    repeats: *repeats,
                })
            })
            .collect()
    }

    /// What a contamination check looks for in a corpus, for each of the first `limit`
    /// documents: the question as `doc_to_decontamination_query` renders it (else
    /// `doc_to_text`; no description, no few-shot examples), every choice, and the
    /// answer. Template text shared by all documents stays out, so that one leaked item
    /// does not flag its neighbours.
    pub fn decontamination_texts(
        &self,
        limit: Option<usize>,
    ) -> Result<Vec<(usize, Vec<String>)>, TaskError> {
        let count = limit.map_or(self.docs.len(), |l| l.min(self.docs.len()));
        (0..count)
            .map(|doc_id| {
                let doc = &self.docs[doc_id];
                let mut texts = Vec::new();
                match &self.loaded.config.doc_to_decontamination_query {
                    Some(template) => texts.push(self.render_text(
                        template,
                        doc,
                        doc_id,
                        "doc_to_decontamination_query",
                    )?),
                    None => {
                        if let DocText::Prompt(text) = self.doc_to_text(doc, doc_id)? {
                            texts.push(text);
                        }
                    }
                }
                if self.loaded.config.doc_to_choice.is_some() {
                    texts.extend(self.doc_to_choice(doc, doc_id)?);
                }
                let target = value_text(&self.resolve("doc_to_target", doc, doc_id)?);
                if !texts.contains(&target) && as_index(&target).is_none() {
                    texts.push(target);
                }
                Ok((doc_id, texts))
            })
            .collect()
    }

    fn fewshot_prefixes(&self) -> FewshotPrefixes {
        let config = &self.loaded.config;
        FewshotPrefixes {
            rng: PyRandom::new(FEWSHOT_SEED),
            // lm-eval (0.4.12) leaves the evaluated document out of its examples only
            // when `fewshot_split` equals `test_split`, both unset included; it then
            // draws one example more and drops the document. The `first_n` sampler
            // takes the split's first examples and never drops.
            drop_eval_doc: config.fewshot_split == config.test_split,
            first_n: config
                .fewshot_config
                .as_ref()
                .and_then(|c| c.get("sampler"))
                .and_then(serde_yaml::Value::as_str)
                == Some("first_n"),
        }
    }

    fn target_delimiter(&self) -> String {
        self.loaded
            .config
            .target_delimiter
            .clone()
            .unwrap_or_else(|| " ".to_owned())
    }

    fn fewshot_delimiter(&self) -> String {
        self.loaded
            .config
            .fewshot_delimiter
            .clone()
            .unwrap_or_else(|| "\n\n".to_owned())
    }

    /// A solved example's question and answer, as lm-eval's `build_qa_turn` takes them.
    /// In multiple-input tasks the question is the right choice and the answer is the
    /// target text.
    fn labeled_example(
        &self,
        example: &Value,
        doc_id: usize,
    ) -> Result<(String, String), TaskError> {
        let target = self.resolve("doc_to_target", example, doc_id)?;
        if self.loaded.config.doc_to_choice.is_none() {
            // Generation tasks: the target is the answer text (the first of a list).
            let answer = match &target {
                Value::Array(items) => items.first().map(value_text).unwrap_or_default(),
                other => value_text(other),
            };
            let question = match self.doc_to_text(example, doc_id)? {
                DocText::Prompt(text) => text,
                DocText::ChoiceIndex(index) => index.to_string(),
            };
            return Ok((question, answer));
        }
        let choices = self.doc_to_choice(example, doc_id)?;
        let (question, answer) = match self.doc_to_text(example, doc_id)? {
            DocText::Prompt(text) => {
                let gold = self.gold_index(&target, doc_id, &choices)?;
                (text, choices[gold].clone())
            }
            DocText::ChoiceIndex(index) => {
                let index = self.check_index(index, doc_id, &choices)?;
                (choices[index].clone(), value_text(&target))
            }
        };
        Ok((question, answer))
    }

    /// The prompt from the prefix turns and the question, as lm-eval's `fewshot_context`
    /// makes it: the turns' text run together; or with a chat template, the turns as
    /// messages (`fewshot_as_multiturn`) or folded into one user message after the
    /// system message, rendered with the generation prompt.
    fn prompt(
        &self,
        mut turns: Vec<Turn>,
        question: String,
        doc_id: usize,
    ) -> Result<String, TaskError> {
        turns.push(Turn::new("user", question, ""));
        let Some(chat) = &self.chat else {
            return Ok(turns
                .iter()
                .map(|t| format!("{}{}", t.content, t.delimiter))
                .collect());
        };
        let messages: Vec<ChatMessage> = if chat.fewshot_as_multiturn {
            turns.iter().map(|t| t.message(t.content.clone())).collect()
        } else {
            let (system, rest) = match turns.split_first() {
                Some((first, rest)) if first.role == "system" => (Some(first), rest),
                _ => (None, &turns[..]),
            };
            let user: String = rest
                .iter()
                .map(|t| format!("{}{}", t.content, t.delimiter))
                .collect();
            system
                .map(|s| s.message(s.content.clone()))
                .into_iter()
                .chain([Turn::new("user", "", "").message(user)])
                .collect()
        };
        chat.render_conversation(&messages)
            .map_err(|e| self.render_error(doc_id, "chat_template", &e))
    }

    /// Renders prompts as a chat with the model's template from now on (lm-eval's
    /// `--apply_chat_template`). The config hash changes with it, so chat and plain
    /// results are stored apart.
    pub fn set_chat_format(&mut self, chat: Arc<ChatFormat>) {
        self.chat = Some(chat);
    }

    /// The chat format prompts are rendered with, if any.
    pub fn chat_format(&self) -> Option<&ChatFormat> {
        self.chat.as_deref()
    }

    /// Puts `instruction` before the task's description, as a system message in a chat
    /// (lm-eval's `--system_instruction`; joined to the description by the few-shot
    /// delimiter unless whitespace is already there).
    pub fn set_system_instruction(&mut self, instruction: String) {
        self.system_instruction = Some(instruction);
    }

    /// The system instruction, if one was set.
    pub fn system_instruction(&self) -> Option<&str> {
        self.system_instruction.as_deref()
    }

    fn render_text(
        &self,
        template: &str,
        doc: &Value,
        doc_id: usize,
        field: &str,
    ) -> Result<String, TaskError> {
        self.templates
            .render(template, doc)
            .map_err(|e| self.render_error(doc_id, field, &e))
    }

    fn render_error(
        &self,
        doc_index: usize,
        field: &str,
        error: &dyn std::fmt::Display,
    ) -> TaskError {
        TaskError::Render {
            task: self.name.to_string(),
            doc_index,
            field: field.to_owned(),
            message: error.to_string(),
        }
    }

    /// The field's value for a document: a built-in hook's result, a document field when
    /// the spec names one, a literal, or a Jinja template's value.
    fn resolve(&self, field: &str, doc: &Value, doc_id: usize) -> Result<Value, TaskError> {
        let (spec, hook) = match field {
            "doc_to_text" => (&self.loaded.config.doc_to_text, self.hooks.doc_to_text),
            "doc_to_target" => (&self.loaded.config.doc_to_target, self.hooks.doc_to_target),
            _ => (&self.loaded.config.doc_to_choice, self.hooks.doc_to_choice),
        };
        if let Some(hook) = hook {
            let result = match hook {
                Hook::WinograndeDocToText => hooks::winogrande_answer_index(doc).map(Value::from),
                Hook::WinograndeDocToTarget => hooks::winogrande_target(doc).map(Value::from),
                Hook::WinograndeDocToChoice => hooks::winogrande_choices(doc).map(Value::from),
                other => Err(format!("`{}` cannot compute `{field}`", other.name())),
            };
            return result.map_err(|e| self.render_error(doc_id, field, &e));
        }
        match spec {
            None => Err(self.loaded.field_error(field, "missing")),
            Some(serde_yaml::Value::String(template)) => {
                if let Some(value) = doc.get(template) {
                    return Ok(value.clone());
                }
                self.templates
                    .evaluate(template, doc)
                    .map_err(|e| self.render_error(doc_id, field, &e))
            }
            Some(serde_yaml::Value::Number(n)) => {
                Ok(serde_json::to_value(n).unwrap_or(Value::Null))
            }
            Some(serde_yaml::Value::Sequence(items)) => {
                Ok(serde_json::to_value(items).unwrap_or(Value::Null))
            }
            Some(other) => Err(self.loaded.field_error(
                field,
                format!("expected a template or field name, got {other:?}"),
            )),
        }
    }

    /// lm-eval's `doc_to_text`: an integer (or a template that renders to digits, when
    /// the task has choices) is a choice index and makes the task multiple-input.
    fn doc_to_text(&self, doc: &Value, doc_id: usize) -> Result<DocText, TaskError> {
        let value = self.resolve("doc_to_text", doc, doc_id)?;
        Ok(match value {
            Value::Number(n) if n.as_u64().is_some() => {
                DocText::ChoiceIndex(n.as_u64().unwrap_or_default() as usize)
            }
            Value::String(s) => match as_index(&s) {
                Some(index) if self.loaded.config.doc_to_choice.is_some() => {
                    DocText::ChoiceIndex(index)
                }
                _ => DocText::Prompt(s),
            },
            other => DocText::Prompt(other.to_string()),
        })
    }

    fn doc_to_choice(&self, doc: &Value, doc_id: usize) -> Result<Vec<String>, TaskError> {
        let value = self.resolve("doc_to_choice", doc, doc_id)?;
        let items = match value {
            Value::Array(items) => items,
            Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
            other => {
                return Err(self.render_error(
                    doc_id,
                    "doc_to_choice",
                    &format!("expected a list of choices, got {other}"),
                ))
            }
        };
        Ok(items.iter().map(value_text).collect())
    }

    /// lm-eval's `doc_to_target` for a multiple-choice task, as an index into `choices`:
    /// digit strings become integers, other strings are looked up among the choices.
    fn gold_index(
        &self,
        target: &Value,
        doc_id: usize,
        choices: &[String],
    ) -> Result<usize, TaskError> {
        let index = match target {
            Value::Number(n) => n.as_u64().map(|n| n as usize),
            Value::String(s) => as_index(s).or_else(|| choices.iter().position(|c| c == s)),
            _ => None,
        };
        match index {
            Some(i) => self.check_index(i, doc_id, choices),
            None => Err(self.render_error(
                doc_id,
                "doc_to_target",
                &format!(
                    "target {target} is not one of the {} choices",
                    choices.len()
                ),
            )),
        }
    }

    fn check_index(
        &self,
        index: usize,
        doc_id: usize,
        choices: &[String],
    ) -> Result<usize, TaskError> {
        if index < choices.len() {
            Ok(index)
        } else {
            Err(self.render_error(
                doc_id,
                "doc_to_target",
                &format!(
                    "answer index {index} is out of range for {} choices",
                    choices.len()
                ),
            ))
        }
    }
}

/// A non-empty run of ASCII digits as a number (what lm-eval's `isdigit` +
/// `literal_eval` accept in practice).
fn as_index(text: &str) -> Option<usize> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// A value as Python's `str()` prints a string or number.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `!function` hooks a task file names, resolved once when it loads.
#[derive(Debug, Clone, Default)]
struct TaskHooks {
    process_docs: Option<Hook>,
    fewshot_samples: Option<Hook>,
    process_results: Option<Hook>,
    doc_to_text: Option<Hook>,
    doc_to_target: Option<Hook>,
    doc_to_choice: Option<Hook>,
}

impl TaskHooks {
    fn resolve(loaded: &LoadedConfig) -> Result<Self, TaskError> {
        let config = &loaded.config;
        let hook =
            |field: &str, spec: &Option<serde_yaml::Value>| -> Result<Option<Hook>, TaskError> {
                let Some(serde_yaml::Value::Tagged(tagged)) = spec else {
                    if field.starts_with("process_") && spec.is_some() {
                        return Err(loaded.field_error(field, "expected `!function NAME`"));
                    }
                    return Ok(None);
                };
                if tagged.tag != "!function" && tagged.tag != "function" {
                    return Err(loaded.field_error(
                        field,
                        format!(
                            "unknown tag {}; lm-eval task files use !function",
                            tagged.tag
                        ),
                    ));
                }
                let name = tagged.value.as_str().ok_or_else(|| {
                    loaded.field_error(
                        field,
                        "`!function` needs a name such as hellaswag.process_docs",
                    )
                })?;
                Hook::resolve(name, field)
                    .map(Some)
                    .map_err(|e| loaded.field_error(field, e.0))
            };
        Ok(Self {
            process_docs: hook("process_docs", &config.process_docs)?,
            fewshot_samples: hook(
                "samples",
                &config
                    .fewshot_config
                    .as_ref()
                    .and_then(|c| c.get("samples"))
                    .cloned(),
            )?,
            process_results: hook("process_results", &config.process_results)?,
            doc_to_text: hook("doc_to_text", &config.doc_to_text)?,
            doc_to_target: hook("doc_to_target", &config.doc_to_target)?,
            doc_to_choice: hook("doc_to_choice", &config.doc_to_choice)?,
        })
    }

    /// Runs `process_docs` over a split, as lm-eval runs it over every split it loads.
    fn process_docs(&self, task: &str, docs: Vec<Value>) -> Result<Vec<Value>, TaskError> {
        match self.process_docs {
            Some(Hook::HellaswagProcessDocs) => docs
                .iter()
                .enumerate()
                .map(|(doc_index, doc)| {
                    hooks::hellaswag_process_doc(doc).map_err(|message| TaskError::Render {
                        task: task.to_owned(),
                        doc_index,
                        field: "process_docs".into(),
                        message,
                    })
                })
                .collect(),
            Some(Hook::MbppFullTestSplit) => {
                let mut kept = Vec::with_capacity(docs.len());
                for (doc_index, doc) in docs.into_iter().enumerate() {
                    let keep =
                        hooks::mbpp_in_test_split(&doc).map_err(|message| TaskError::Render {
                            task: task.to_owned(),
                            doc_index,
                            field: "process_docs".into(),
                            message,
                        })?;
                    if keep {
                        kept.push(doc);
                    }
                }
                Ok(kept)
            }
            _ => Ok(docs),
        }
    }
}
