//! Graph checks: connections to unknown ids, self-loops, cycles; and the execution order.

use std::collections::BTreeSet;

use super::Connection;
use crate::error::WorkflowProblem;

/// Checks `connections` between the nodes `ids` (in the order they were added), pushing
/// every problem found. Returns an execution order (indices into `ids`): each node after
/// the nodes it reads from, otherwise in the order added.
pub(super) fn check(
    ids: &[&str],
    connections: &[Connection],
    problems: &mut Vec<WorkflowProblem>,
) -> Vec<usize> {
    let index = |id: &str| ids.iter().position(|&i| i == id);
    let mut edges: Vec<(usize, usize)> = Vec::with_capacity(connections.len());
    for c in connections {
        for end in [&c.from, &c.to] {
            let problem = WorkflowProblem::UnknownNodeId(end.clone());
            if index(end).is_none() && !problems.contains(&problem) {
                problems.push(problem);
            }
        }
        if c.from == c.to {
            let problem = WorkflowProblem::SelfLoop(c.from.clone());
            if !problems.contains(&problem) {
                problems.push(problem);
            }
            continue;
        }
        if let (Some(from), Some(to)) = (index(&c.from), index(&c.to)) {
            edges.push((from, to));
        }
    }

    // Kahn's algorithm, always taking the earliest-added ready node.
    let mut indegree = vec![0_usize; ids.len()];
    for &(_, to) in &edges {
        indegree[to] += 1;
    }
    let mut ready: BTreeSet<usize> = (0..ids.len()).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(ids.len());
    while let Some(next) = ready.pop_first() {
        order.push(next);
        for &(from, to) in &edges {
            if from == next {
                indegree[to] -= 1;
                if indegree[to] == 0 {
                    ready.insert(to);
                }
            }
        }
    }
    if order.len() < ids.len() {
        let stuck: Vec<usize> = (0..ids.len()).filter(|i| !order.contains(i)).collect();
        problems.push(WorkflowProblem::Cycle(find_cycle(&stuck, &edges, ids)));
    }
    order
}

/// One cycle through the nodes left over by Kahn's algorithm, as ids, first id repeated.
fn find_cycle(stuck: &[usize], edges: &[(usize, usize)], ids: &[&str]) -> Vec<String> {
    // Every stuck node has a stuck predecessor; walk predecessors until one repeats.
    let mut path = vec![stuck[0]];
    loop {
        let current = *path.last().expect("non-empty");
        let previous = edges
            .iter()
            .find(|(from, to)| *to == current && stuck.contains(from))
            .map(|(from, _)| *from)
            .expect("a stuck node has a stuck predecessor");
        if let Some(at) = path.iter().position(|&n| n == previous) {
            let mut cycle: Vec<String> = path[at..]
                .iter()
                .rev()
                .map(|&n| ids[n].to_owned())
                .collect();
            cycle.push(cycle[0].clone());
            return cycle;
        }
        path.push(previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(from: &str, to: &str) -> Connection {
        Connection {
            from: from.into(),
            output: "x".into(),
            to: to.into(),
            input: "x".into(),
        }
    }

    #[test]
    fn orders_sources_before_targets() {
        let mut problems = vec![];
        let order = check(
            &["c", "b", "a"],
            &[conn("a", "b"), conn("b", "c")],
            &mut problems,
        );
        assert!(problems.is_empty());
        assert_eq!(order, [2, 1, 0]);
    }

    #[test]
    fn reports_every_problem() {
        let mut problems = vec![];
        check(
            &["a", "b", "c"],
            &[
                conn("a", "a"),
                conn("a", "zz"),
                conn("b", "c"),
                conn("c", "b"),
            ],
            &mut problems,
        );
        assert_eq!(
            problems,
            [
                WorkflowProblem::SelfLoop("a".into()),
                WorkflowProblem::UnknownNodeId("zz".into()),
                WorkflowProblem::Cycle(vec!["c".into(), "b".into(), "c".into()]),
            ]
        );
    }
}
