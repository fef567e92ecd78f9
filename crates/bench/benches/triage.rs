//! Triage speed (issue 12: "training on 100,000 tickets takes seconds; classifying is well under
//! a millisecond per ticket").
//!
//! - `triage_classify`: one ticket classified by the base model (`Model::predict`) beside the
//!   keyword baseline (`RuleTriage::builtin().decide`), side by side in one group, for a one-line
//!   ticket, a long mail (about 4 KB: greeting, request, signature, confidentiality notice and a
//!   quoted earlier thread) and the held-out tickets one after another (each iteration the next
//!   of 300).
//! - `triage_full`: `ModelTriage::triage` with the base model and no directory (the model's
//!   decision, the rules' entities, target resolution from addresses), on the same one-liner and
//!   long mail.
//! - `triage_train`: `Trainer::default().train` on the base corpus (about 1,000 tickets) and on
//!   100,000 tickets built from it ([`synthetic`]), calibration included, as `stackhand triage
//!   train` trains.
//!
//! The 100,000 tickets measure **speed, not accuracy**: each is the subject of one corpus ticket
//! and the body of another of the same intent, in a greeting and sign-off of the body's language
//! with generated names, phone numbers and companies, some with a signature block and some with a
//! quoted earlier mail (any intent), from one seeded generator. They are a little longer than the
//! corpus's tickets (about 300 characters against 190 on average) and have five times its
//! vocabulary in feature buckets (the bench prints both), but a model trained on them has seen
//! nothing the corpus did not hold, so their accuracy means nothing.
//!
//! `cargo xtask bench` runs it with the other benches; alone:
//! `cargo bench -p stackhand-bench --bench triage`. It takes about five minutes on 2 busy cores,
//! four of them training on 100,000 tickets eleven times: criterion's warm-up runs at least one
//! iteration and it takes at least 10 samples. The figures of one run are in
//! `docs/performance.md`.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use stackhand_core::TenantId;
use stackhand_triage::classifier::base_model;
use stackhand_triage::corpus::{self, CorpusTicket};
use stackhand_triage::{Intent, Labelled, ModelTriage, RuleTriage, Trainer, Triage, text};

/// How many tickets the large training set has.
const LARGE: usize = 100_000;

const ONE_LINER: (&str, &str) = (
    "",
    "pls add me to the Finance group, cant open the budget folder",
);

const LONG_SUBJECT: &str = "RE: FW: Access to the Finance SharePoint site and budget folders";

/// A long mail: the request at the top, then a signature, a confidentiality notice and the
/// quoted thread it replies to, as helpdesk mail arrives.
fn long_body() -> String {
    let mut body = String::from(
        "Hi team,\n\n\
         Sorry to chase on this one, I know you have a lot on this week with the office move. \
         Could you please add me to the Finance group so that I can open the budget folders \
         on the Finance SharePoint site? My manager Diane Fox has approved it (see her mail \
         below) and I need to get the quarterly forecast to the partners by Thursday. At the \
         moment every link I open says access denied and asks me to request access, and the \
         request button sends a mail to someone who left last year.\n\n\
         If it is easier I am happy to jump on a call, I'm in all day apart from 2-3pm.\n\n\
         Many thanks,\n\n\
         Priya Natarajan\n\
         Senior Management Accountant | Finance\n\
         Contoso Law LLP\n\
         14 Ludgate Row, London EC4M 7AA\n\
         DD: 020 7946 0321 | M: 07700 900 312\n\
         priya.natarajan@contoso.example | www.contoso.example\n\n\
         CONFIDENTIALITY NOTICE: This email and any attachments are confidential and may be \
         legally privileged. If you are not the intended recipient, please notify the sender \
         immediately and delete it from your system; you must not copy, distribute or take any \
         action in reliance on it. Contoso Law LLP is a limited liability partnership registered \
         in England and Wales (OC123456) and is authorised and regulated by the Solicitors \
         Regulation Authority. A list of members is available at our registered office. We \
         accept no liability for viruses; please carry out your own checks.\n\n\
         Please consider the environment before printing this email.\n\n",
    );
    let quoted = [
        (
            "Diane Fox <diane.fox@contoso.example>",
            "Monday, 3 March 2025 09:12",
            "Approved from my side: Priya needs the budget folders for the quarterly forecast. \
             She should have read access to Finance and edit access to the forecast workbook \
             only; please do not give her access to the payroll folder. Diane",
        ),
        (
            "Priya Natarajan <priya.natarajan@contoso.example>",
            "Friday, 28 February 2025 16:40",
            "Hi Diane, could you approve my access to the Finance site? IT say they need your \
             OK before they add me to the group. The forecast is due next Thursday and I cannot \
             open last quarter's workbook or the supporting schedules. Thanks, Priya",
        ),
        (
            "Service Desk <servicedesk@msp.example>",
            "Friday, 28 February 2025 11:05",
            "Hello Priya, thank you for your request (ticket #48213). Access to the Finance \
             site needs your line manager's approval: please forward this mail to them and ask \
             them to reply with their approval. Kind regards, the Service Desk team. Our \
             opening hours are 8am to 6pm, Monday to Friday; for urgent issues out of hours \
             please call 0330 123 4567.",
        ),
    ];
    for (from, sent, text) in quoted {
        body.push_str(&format!(
            "-----Original Message-----\nFrom: {from}\nSent: {sent}\n\
             To: Priya Natarajan <priya.natarajan@contoso.example>\n\
             Subject: Access to the Finance SharePoint site\n\n{text}\n\n"
        ));
    }
    body
}

fn classify(c: &mut Criterion) {
    let model = base_model();
    let rules = RuleTriage::builtin();
    let long = long_body();
    let held_out: Vec<(String, String)> = corpus::held_out()
        .into_iter()
        .map(|t| (t.subject, t.body))
        .collect();

    // What both say about the fixed tickets, so the figures are read with the path they took.
    for (name, subject, body) in [
        ("one-liner", ONE_LINER.0, ONE_LINER.1),
        ("long mail", LONG_SUBJECT, long.as_str()),
    ] {
        let p = model.predict(subject, body);
        eprintln!(
            "{name} ({} chars): model says {} at {:.2}, keyword baseline {}",
            subject.chars().count() + body.chars().count(),
            p.intent,
            p.confidence,
            rules.decide(subject, body).best
        );
        assert_eq!(p.intent, Intent::GroupAccess, "{name}: the model's intent");
    }

    let mut group = c.benchmark_group("triage_classify");
    group.sample_size(30);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for (input, subject, body) in [
        ("one_liner", ONE_LINER.0, ONE_LINER.1),
        ("long_mail", LONG_SUBJECT, long.as_str()),
    ] {
        group.bench_function(BenchmarkId::new("model", input), |b| {
            b.iter(|| black_box(model.predict(black_box(subject), black_box(body))))
        });
        group.bench_function(BenchmarkId::new("keyword", input), |b| {
            b.iter(|| black_box(rules.decide(black_box(subject), black_box(body))))
        });
    }
    let n = held_out.len();
    group.bench_function(BenchmarkId::new("model", "held_out_each"), |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % n;
            let (subject, body) = &held_out[i];
            black_box(model.predict(black_box(subject), black_box(body)))
        })
    });
    group.bench_function(BenchmarkId::new("keyword", "held_out_each"), |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % n;
            let (subject, body) = &held_out[i];
            black_box(rules.decide(black_box(subject), black_box(body)))
        })
    });
    group.finish();
}

fn triage_full(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let triage = ModelTriage::new(base_model());
    let tenant = TenantId::new("bench-tenant").expect("a tenant id");
    let requester = Some("priya.natarajan@contoso.example");
    let long = long_body();
    let tickets = [
        (
            "one_liner",
            stackhand_triage::text_ticket(&tenant, "1", ONE_LINER.0, ONE_LINER.1, requester),
        ),
        (
            "long_mail",
            stackhand_triage::text_ticket(&tenant, "2", LONG_SUBJECT, &long, requester),
        ),
    ];
    for (name, ticket) in &tickets {
        let triaged = rt.block_on(triage.triage(ticket)).expect("triage");
        eprintln!(
            "{name}: intent {:?}, entities {:?}, target {:?}, unresolved {:?}",
            triaged.intent, triaged.entities, triaged.target, triaged.unresolved
        );
    }

    let mut group = c.benchmark_group("triage_full");
    group.sample_size(30);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for (name, ticket) in &tickets {
        group.bench_function(BenchmarkId::new("model_triage", name), |b| {
            b.iter(|| {
                black_box(
                    rt.block_on(triage.triage(black_box(ticket)))
                        .expect("triage"),
                )
            })
        });
    }
    group.finish();
}

fn training(c: &mut Criterion) {
    let base = corpus::base();
    let small: Vec<Labelled> = base.iter().map(CorpusTicket::labelled).collect();
    let large = synthetic(&base, LARGE, 12);
    describe("base corpus", &small);
    describe("synthetic", &large);

    let mut group = c.benchmark_group("triage_train");
    // One training is far longer than criterion's usual iteration: a few samples of one
    // iteration each.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function(BenchmarkId::new("train", small.len()), |b| {
        b.iter(|| black_box(Trainer::default().train(black_box(&small))))
    });
    group.bench_function(BenchmarkId::new("train", large.len()), |b| {
        b.iter(|| black_box(Trainer::default().train(black_box(&large))))
    });
    group.finish();
    if let Some(peak) = peak_memory() {
        eprintln!("peak resident memory of the bench process: {peak}");
    }
}

/// Tickets, mean characters per ticket, and distinct feature buckets (the vocabulary a model
/// keeps weights for).
fn describe(name: &str, examples: &[Labelled]) {
    let chars: usize = examples
        .iter()
        .map(|e| e.subject.chars().count() + e.body.chars().count())
        .sum();
    let buckets: HashSet<u32> = examples
        .iter()
        .flat_map(|e| text::counts(&e.subject, &e.body).index)
        .collect();
    eprintln!(
        "{name}: {} tickets, {:.0} characters each on average, {} distinct feature buckets",
        examples.len(),
        chars as f64 / examples.len() as f64,
        buckets.len()
    );
}

/// The process's peak resident memory, from `/proc/self/status` (Linux).
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_string())
}

const FIRST_NAMES: &[&str] = &[
    "Priya",
    "Tomasz",
    "Eleanor",
    "Geoff",
    "Jo",
    "Hamish",
    "Rebecca",
    "Liam",
    "Diane",
    "Ravi",
    "Jürgen",
    "Anke",
    "Lukas",
    "Sabine",
    "María",
    "Javier",
    "Lucía",
    "Carmen",
    "Élodie",
    "François",
    "Camille",
    "Mathieu",
    "Sanne",
    "Joris",
    "Femke",
    "Bram",
    "Aisha",
    "Kwame",
    "Mei",
    "Hiroshi",
    "Olga",
    "Dmitri",
    "Fatima",
    "Youssef",
    "Grace",
    "Owen",
    "Siobhan",
    "Niamh",
    "Pedro",
    "Inés",
];

const SYLLABLES: &[&str] = &[
    "ba", "ker", "sen", "mor", "ton", "wic", "lan", "dro", "vel", "ham", "ric", "ste", "ber",
    "gon", "nal", "zar", "fel", "kow", "ski", "mar", "tin", "dal", "rou", "que", "lin", "ver",
    "hof", "man", "ez", "ola",
];

const COMPANY_KINDS: &[&str] = &[
    "Ltd",
    "LLP",
    "GmbH",
    "S.L.",
    "SARL",
    "B.V.",
    "Dental",
    "Accountants",
    "Solicitors",
    "Logistics",
    "Architects",
    "Surgery",
];

/// A generated name: 27,000 surnames of three syllables, so names add vocabulary as they do in
/// real mail.
fn surname(rng: &mut StdRng) -> String {
    let mut name: String = (0..3)
        .map(|_| *SYLLABLES.choose(rng).expect("syllables"))
        .collect();
    if let Some(first) = name.get(..1) {
        name = first.to_uppercase() + &name[1..];
    }
    name
}

/// Greetings and sign-offs in the body's language.
fn phrases(lang: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match lang {
        "de" => (
            &["Hallo,", "Guten Morgen,", "Sehr geehrte Damen und Herren,"],
            &["Danke und Gruß", "Viele Grüße", "Mit freundlichen Grüßen"],
        ),
        "es" => (
            &["Hola,", "Buenos días,", "Estimado soporte,"],
            &["Gracias,", "Saludos,", "Un saludo,"],
        ),
        "fr" => (
            &["Bonjour,", "Bonjour à tous,", "Madame, Monsieur,"],
            &["Merci,", "Cordialement,", "Bien à vous,"],
        ),
        "nl" => (
            &["Hallo,", "Goedemorgen,", "Beste servicedesk,"],
            &["Bedankt,", "Groeten,", "Met vriendelijke groet,"],
        ),
        _ => (
            &["Hi team,", "Hello,", "Good morning,", "Dear Service Desk,"],
            &["Thanks,", "Kind regards,", "Many thanks,", "Cheers,"],
        ),
    }
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// `n` tickets made of the corpus's pieces, for training speed only (see the module
/// documentation): the intent drawn as often as the corpus has it, the subject of one ticket of
/// that intent and the body of another, wrapped in a greeting and a sign-off with generated
/// names, and some with a signature block and a quoted earlier mail of any intent.
fn synthetic(corpus: &[CorpusTicket], n: usize, seed: u64) -> Vec<Labelled> {
    let mut rng = StdRng::seed_from_u64(seed);
    let by_intent: Vec<Vec<&CorpusTicket>> = Intent::ALL
        .iter()
        .map(|intent| corpus.iter().filter(|t| t.intent == *intent).collect())
        .collect();
    (0..n)
        .map(|_| {
            let intent = corpus.choose(&mut rng).expect("a corpus").intent;
            let same = &by_intent[intent.index()];
            let head = same.choose(&mut rng).expect("tickets of the intent");
            let main = same.choose(&mut rng).expect("tickets of the intent");
            let (greetings, sign_offs) = phrases(&main.lang);
            let first = *FIRST_NAMES.choose(&mut rng).expect("names");
            let last = surname(&mut rng);
            let company = format!(
                "{} {}",
                surname(&mut rng),
                COMPANY_KINDS.choose(&mut rng).expect("kinds")
            );
            let domain = company
                .split(' ')
                .next()
                .unwrap_or("example")
                .to_lowercase();
            let subject = match rng.random_range(0..10) {
                0 => format!("RE: {}", head.subject),
                1 => format!("FW: {}", head.subject),
                _ => head.subject.clone(),
            };
            let mut body = String::new();
            if rng.random_bool(0.5) {
                body.push_str(greetings.choose(&mut rng).expect("greetings"));
                body.push_str("\n\n");
            }
            body.push_str(&main.body);
            body.push_str(&format!(
                "\n\n{}\n{first} {last}",
                sign_offs.choose(&mut rng).expect("sign-offs")
            ));
            if rng.random_bool(0.4) {
                body.push_str(&format!(
                    "\n{company}\nT: 0{} {} {}\n{}.{}@{domain}.example",
                    digits(&mut rng, 3),
                    digits(&mut rng, 3),
                    digits(&mut rng, 4),
                    first.to_lowercase(),
                    last.to_lowercase()
                ));
            }
            if rng.random_bool(0.15) {
                let earlier = corpus.choose(&mut rng).expect("a corpus");
                body.push_str(&format!(
                    "\n\n-----Original Message-----\nFrom: {} {} <helpdesk@{domain}.example>\n\
                     Sent: {} March 2025 {}:{}\nSubject: {}\n\n{}",
                    FIRST_NAMES.choose(&mut rng).expect("names"),
                    surname(&mut rng),
                    rng.random_range(1..29),
                    rng.random_range(8..18),
                    digits(&mut rng, 2),
                    earlier.subject,
                    earlier.body
                ));
            }
            Labelled {
                subject,
                body,
                intent,
                weight: 1.0,
            }
        })
        .collect()
}

criterion_group!(benches, classify, triage_full, training);
criterion_main!(benches);
