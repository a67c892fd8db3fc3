//! Group scores: lm-eval's size-weighted mean and pooled standard error over a group's
//! tasks.

use crate::TaskOutcome;
use yardstick_metrics::Aggregate;
use yardstick_tasks::TaskTree;

/// A group's aggregated scores.
#[derive(Debug, Clone)]
pub struct GroupOutcome {
    /// The group's name.
    pub name: String,
    /// Its display name.
    pub alias: String,
    /// `metadata.version`, as lm-eval prints it.
    pub version: Option<String>,
    /// Names of its direct members.
    pub children: Vec<String>,
    /// Documents across all its tasks.
    pub sample_len: usize,
    /// Each aggregated metric with its pooled standard error.
    pub metrics: Vec<(String, Aggregate)>,
}

/// Every group under `trees`, members before the groups that contain them, each once.
pub(crate) fn aggregate_groups(trees: &[TaskTree], tasks: &[TaskOutcome]) -> Vec<GroupOutcome> {
    let mut out = Vec::new();
    for tree in trees {
        collect(tree, tasks, &mut out);
    }
    out
}

fn collect(tree: &TaskTree, tasks: &[TaskOutcome], out: &mut Vec<GroupOutcome>) {
    let TaskTree::Group { config, children } = tree else {
        return;
    };
    for child in children {
        collect(child, tasks, out);
    }
    if out.iter().any(|g| g.name == config.group) {
        return;
    }
    let leaves: Vec<&TaskOutcome> = tree
        .leaves()
        .into_iter()
        .filter_map(|leaf| tasks.iter().find(|t| t.name.as_str() == leaf))
        .collect();
    let metrics = config
        .aggregate_metric_list
        .iter()
        .flatten()
        .filter_map(|spec| {
            let parts: Vec<Aggregate> = leaves
                .iter()
                .filter_map(|t| {
                    t.metrics
                        .iter()
                        .find(|(m, _)| *m == spec.metric)
                        .map(|(_, a)| *a)
                })
                .collect();
            (!parts.is_empty()).then(|| {
                (
                    spec.metric.clone(),
                    Aggregate::pooled(&parts, spec.weight_by_size),
                )
            })
        })
        .collect();
    out.push(GroupOutcome {
        name: config.group.clone(),
        alias: config
            .group_alias
            .clone()
            .unwrap_or_else(|| config.group.clone()),
        version: config.version(),
        children: children.iter().map(|c| c.name().to_owned()).collect(),
        sample_len: leaves.iter().map(|t| t.effective).sum(),
        metrics,
    });
}
