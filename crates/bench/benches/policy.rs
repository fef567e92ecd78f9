//! Policy decision time: stackhand's layered policy against cedar-policy on the same rules.
//!
//! 1,000 tenants × 20 rules plus 50 global rules. Before measuring, every engine decides the
//! same 1,000 requests and must agree on outcome and deciding rule.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use stackhand_bench::{CedarEngine, Outcome, Scenario, StackhandEngine};

const SAMPLE: usize = 1_000;

fn policy_decision(c: &mut Criterion) {
    let scenario = Scenario::standard();
    let requests = scenario.requests(SAMPLE, 7);
    let ours = StackhandEngine::new(&scenario);
    let cedar = CedarEngine::single_set(&scenario);
    let sliced = CedarEngine::per_tenant(&scenario);

    let our_inputs: Vec<_> = requests.iter().map(|r| ours.prepare(r)).collect();
    let cedar_inputs: Vec<_> = requests.iter().map(|r| cedar.prepare(r)).collect();

    // Setup assertion: the engines must reach the same decisions before timing means anything.
    let mut tally = [0usize; 4];
    for (i, request) in requests.iter().enumerate() {
        let expected = ours.decide(&our_inputs[i]);
        let errors = cedar.evaluation_errors(&cedar_inputs[i]);
        assert!(
            errors.is_empty(),
            "Cedar evaluation errors for {request:?}: {errors:?}"
        );
        assert_eq!(
            cedar.decide(&cedar_inputs[i]),
            expected,
            "cedar (one set) disagrees on {request:?}"
        );
        assert_eq!(
            sliced.decide(&cedar_inputs[i]),
            expected,
            "cedar (per tenant) disagrees on {request:?}"
        );
        tally[match (expected.outcome, expected.rule.as_str()) {
            (Outcome::Deny, "no-policy") => 3,
            (Outcome::Deny, _) => 2,
            (Outcome::Approve, _) => 1,
            (Outcome::Allow, _) => 0,
        }] += 1;
    }
    eprintln!(
        "agreement on {SAMPLE} requests: allow {}, approve {}, deny by rule {}, no policy {}",
        tally[0], tally[1], tally[2], tally[3]
    );
    assert!(
        tally.iter().all(|&n| n > 0),
        "the sample should exercise every outcome: {tally:?}"
    );

    let mut group = c.benchmark_group("policy_decision_1000x20_plus_50");
    group.measurement_time(Duration::from_secs(10));
    let n = requests.len();
    group.bench_function("stackhand", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % n;
            black_box(ours.decide(black_box(&our_inputs[i])))
        })
    });
    group.bench_function("cedar", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % n;
            black_box(cedar.decide(black_box(&cedar_inputs[i])))
        })
    });
    group.bench_function("cedar_per_tenant_sets", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % n;
            black_box(sliced.decide(black_box(&cedar_inputs[i])))
        })
    });
    group.finish();
}

criterion_group!(benches, policy_decision);
criterion_main!(benches);
