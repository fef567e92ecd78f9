//! The classifier: TF-IDF over [`text`] features and a softmax (multinomial
//! logistic) regression, with temperature-scaled probabilities.
//!
//! Why not linfa's logistic regression: it takes a dense matrix, and 100,000 tickets by a
//! million hashed n-gram buckets is not a matrix anyone can hold. Tickets are sparse (a few
//! hundred n-grams each), so the model trains by stochastic gradient descent on sparse rows and
//! keeps weights only for the buckets its training text used.
//!
//! Confidence is calibrated: a fifth of the training set (of a stratified sample of at most
//! 20,000 tickets, for large sets) is held back, a model trained on the rest scores it, and the temperature that makes those scores honest (least log-loss) is kept
//! for the model trained on everything. A confidence of 0.8 then means right about four times in
//! five, which is what an abstention threshold needs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::intent::Intent;
use crate::text::{self, DIMENSIONS, Sparse};

/// Classes: the intents, in [`Intent::ALL`] order.
pub const CLASSES: usize = Intent::ALL.len();

/// A ticket with the intent a person gave it, for training or evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// The intent.
    pub intent: Intent,
    /// How much it counts, relative to other examples of its intent (a tenant's own history
    /// counts more than the base corpus).
    pub weight: f32,
}

/// How a model learns.
#[derive(Debug, Clone, PartialEq)]
pub struct Trainer {
    /// Step size at the start; it decays as `1 / (1 + epoch)`.
    pub learning_rate: f32,
    /// L2 penalty on the weights a step touches.
    pub l2: f32,
    /// Passes over the data; `None` chooses enough passes for about 40,000 steps (at least
    /// 4, at most 40).
    pub epochs: Option<usize>,
    /// The shuffle's seed: the same data and seed give the same model.
    pub seed: u64,
    /// The share of the data held back to calibrate confidence (0 skips calibration).
    pub calibration_share: f32,
}

impl Default for Trainer {
    fn default() -> Self {
        Self {
            learning_rate: 0.5,
            l2: 1e-5,
            epochs: None,
            seed: 7,
            calibration_share: 0.2,
        }
    }
}

/// A trained classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The buckets training text used, ascending.
    buckets: Vec<u32>,
    /// Inverse document frequency, one per bucket.
    idf: Vec<f32>,
    /// Weights, `CLASSES` per bucket.
    weights: Vec<f32>,
    bias: [f32; CLASSES],
    temperature: f32,
    examples: usize,
}

/// What a model says about one ticket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// The most likely intent.
    pub intent: Intent,
    /// Its calibrated probability.
    pub confidence: f32,
    /// Every intent's probability, in [`Intent::ALL`] order.
    pub probabilities: [f32; CLASSES],
}

/// A model file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// Not the JSON of a model file.
    #[error("not a stackhand triage model: {0}")]
    Json(#[from] serde_json::Error),
    /// Written by another version of the format.
    #[error(
        "triage model format {found} is not supported (this build reads format {FORMAT}); train the model again with `stackhand triage train`"
    )]
    Format {
        /// The format the file says it has.
        found: u32,
    },
    /// Arrays of the wrong size or bad encoding.
    #[error(
        "triage model file is damaged: {0}; train the model again with `stackhand triage train`"
    )]
    Damaged(String),
}

const FORMAT: u32 = 1;

/// The stored form of a [`Model`]: little-endian arrays in base64, in JSON.
#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: u32,
    classes: Vec<String>,
    examples: usize,
    temperature: f32,
    bias: Vec<f32>,
    buckets: String,
    idf: String,
    weights: String,
}

fn encode<T: Copy, const N: usize>(values: &[T], bytes: impl Fn(T) -> [u8; N]) -> String {
    BASE64.encode(values.iter().flat_map(|v| bytes(*v)).collect::<Vec<u8>>())
}

fn decode<T, const N: usize>(
    what: &str,
    text: &str,
    value: impl Fn([u8; N]) -> T,
) -> Result<Vec<T>, ModelFileError> {
    let bytes = BASE64
        .decode(text)
        .map_err(|e| ModelFileError::Damaged(format!("{what}: {e}")))?;
    if bytes.len() % N != 0 {
        return Err(ModelFileError::Damaged(format!(
            "{what} has {} bytes, not a multiple of {N}",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(N)
        .map(|c| value(c.try_into().expect("chunks of N")))
        .collect())
}

fn softmax(logits: &mut [f32; CLASSES], temperature: f32) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for l in logits.iter_mut() {
        *l = ((*l - max) / temperature).exp();
        sum += *l;
    }
    logits.iter_mut().for_each(|l| *l /= sum);
}

/// Sublinear term frequency times IDF, unit length.
fn weigh(counts: &Sparse, idf: impl Fn(u32) -> Option<(u32, f32)>) -> Sparse {
    Sparse::from_pairs(
        counts
            .iter()
            .filter_map(|(bucket, tf)| idf(bucket).map(|(at, idf)| (at, (1.0 + tf.ln()) * idf)))
            .collect(),
    )
    .normalised()
}

/// The most examples the calibration fit uses.
pub const CALIBRATION_SAMPLE: usize = 20_000;

/// Every example's feature counts, computed on every core.
fn counts_of(examples: &[Labelled]) -> Vec<Sparse> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = examples.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = examples
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|e| text::counts(&e.subject, &e.body))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("feature extraction does not panic"))
            .collect()
    })
}

/// The scores of `row` under `weights` (`CLASSES` per bucket) and `bias`.
fn logits(weights: &[f32], bias: &[f32; CLASSES], row: &Sparse) -> [f32; CLASSES] {
    let mut logits = *bias;
    for (at, x) in row.iter() {
        let w = &weights[at as usize * CLASSES..][..CLASSES];
        for (l, w) in logits.iter_mut().zip(w) {
            *l += w * x;
        }
    }
    logits
}

impl Trainer {
    /// A model of `examples`, calibrated on a held-back share of them when there are enough
    /// (at least 50).
    pub fn train(&self, examples: &[Labelled]) -> Model {
        // Features once, shared by the calibration fit and the final one.
        let counts = counts_of(examples);
        let temperature = if self.calibration_share > 0.0 && examples.len() >= 50 {
            let (fit, held) = self.split(examples);
            let model = self.fit(examples, &counts, &fit, 1.0);
            model.best_temperature(examples, &counts, &held)
        } else {
            1.0
        };
        let all: Vec<usize> = (0..examples.len()).collect();
        self.fit(examples, &counts, &all, temperature)
    }

    /// Each intent's examples shuffled, a share of each held back: (fit, held) indices for
    /// the calibration fit, at most about [`CALIBRATION_SAMPLE`] of them.
    fn split(&self, examples: &[Labelled]) -> (Vec<usize>, Vec<usize>) {
        let mut rng = StdRng::seed_from_u64(self.seed ^ 0x5eed);
        let (mut fit, mut held) = (Vec::new(), Vec::new());
        for intent in Intent::ALL {
            let mut of: Vec<usize> = (0..examples.len())
                .filter(|i| examples[*i].intent == intent)
                .collect();
            of.shuffle(&mut rng);
            // A large set calibrates on a stratified sample: the temperature of 20,000
            // tickets is as good as that of 100,000, at a fifth of the extra fit.
            if examples.len() > CALIBRATION_SAMPLE {
                let share = CALIBRATION_SAMPLE as f64 / examples.len() as f64;
                of.truncate((of.len() as f64 * share).ceil() as usize);
            }
            let keep = ((of.len() as f32) * self.calibration_share).round() as usize;
            for (at, i) in of.into_iter().enumerate() {
                if at < keep { &mut held } else { &mut fit }.push(i);
            }
        }
        fit.sort_unstable();
        (fit, held)
    }

    /// A model of the `chosen` examples, whose features are `counts`.
    fn fit(
        &self,
        examples: &[Labelled],
        counts: &[Sparse],
        chosen: &[usize],
        temperature: f32,
    ) -> Model {
        let counts: Vec<&Sparse> = chosen.iter().map(|i| &counts[*i]).collect();
        let examples: Vec<&Labelled> = chosen.iter().map(|i| &examples[*i]).collect();
        // Document frequency over the dense bucket space, then a compact index of the
        // buckets in use.
        let mut df = vec![0u32; DIMENSIONS as usize];
        for row in &counts {
            for &bucket in &row.index {
                df[bucket as usize] += 1;
            }
        }
        let mut compact = vec![u32::MAX; DIMENSIONS as usize];
        let mut buckets = Vec::new();
        let mut idf = Vec::new();
        let n = examples.len() as f32;
        for (bucket, &d) in df.iter().enumerate() {
            if d > 0 {
                compact[bucket] = buckets.len() as u32;
                buckets.push(bucket as u32);
                idf.push(((1.0 + n) / (1.0 + d as f32)).ln() + 1.0);
            }
        }
        let rows: Vec<Sparse> = counts
            .iter()
            .map(|&c| {
                weigh(c, |b| {
                    let at = compact[b as usize];
                    (at != u32::MAX).then(|| (at, idf[at as usize]))
                })
            })
            .collect();
        // Balanced classes: each intent weighs the same in total, whatever its count.
        let mut per_class = [0f32; CLASSES];
        for e in &examples {
            per_class[e.intent.index()] += e.weight;
        }
        let present = per_class.iter().filter(|c| **c > 0.0).count().max(1) as f32;
        let total: f32 = per_class.iter().sum();
        let class_weight: Vec<f32> = per_class
            .iter()
            .map(|c| if *c > 0.0 { total / (present * c) } else { 0.0 })
            .collect();

        let mut weights = vec![0.0; buckets.len() * CLASSES];
        let mut bias = [0.0; CLASSES];
        let epochs = self
            .epochs
            .unwrap_or_else(|| (40_000 / examples.len().max(1)).clamp(4, 40));
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = StdRng::seed_from_u64(self.seed);
        for epoch in 0..epochs {
            order.shuffle(&mut rng);
            let rate = self.learning_rate / (1.0 + epoch as f32);
            for &i in &order {
                let row = &rows[i];
                let target = examples[i].intent.index();
                let weight = examples[i].weight * class_weight[target];
                let mut p = logits(&weights, &bias, row);
                softmax(&mut p, 1.0);
                let mut gradient = p;
                gradient[target] -= 1.0;
                gradient.iter_mut().for_each(|g| *g *= weight);
                for (b, g) in bias.iter_mut().zip(&gradient) {
                    *b -= rate * g;
                }
                for (at, x) in row.iter() {
                    let w = &mut weights[at as usize * CLASSES..][..CLASSES];
                    for (w, g) in w.iter_mut().zip(&gradient) {
                        *w -= rate * (g * x + self.l2 * *w);
                    }
                }
            }
        }
        Model {
            buckets,
            idf,
            weights,
            bias,
            temperature,
            examples: examples.len(),
        }
    }
}

impl Model {
    /// How many examples it was trained on.
    pub fn examples(&self) -> usize {
        self.examples
    }

    /// The temperature its scores are divided by (above 1 when the raw model was
    /// over-confident).
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    fn row(&self, subject: &str, body: &str) -> Sparse {
        self.weighed(&text::counts(subject, body))
    }

    /// Feature counts weighted by the model's IDF, unit length; unknown buckets dropped.
    fn weighed(&self, counts: &Sparse) -> Sparse {
        weigh(counts, |bucket| {
            self.buckets
                .binary_search(&bucket)
                .ok()
                .map(|at| (at as u32, self.idf[at]))
        })
    }

    fn logits(&self, row: &Sparse) -> [f32; CLASSES] {
        logits(&self.weights, &self.bias, row)
    }

    /// What the model says about a ticket.
    pub fn predict(&self, subject: &str, body: &str) -> Prediction {
        let mut p = self.logits(&self.row(subject, body));
        softmax(&mut p, self.temperature);
        let best = (0..CLASSES)
            .max_by(|a, b| p[*a].total_cmp(&p[*b]))
            .expect("classes");
        Prediction {
            intent: Intent::ALL[best],
            confidence: p[best],
            probabilities: p,
        }
    }

    /// The temperature with the least log-loss on the `held` examples (a grid from 0.05 to 5).
    fn best_temperature(&self, examples: &[Labelled], counts: &[Sparse], held: &[usize]) -> f32 {
        let logits: Vec<([f32; CLASSES], usize)> = held
            .iter()
            .map(|&i| {
                (
                    self.logits(&self.weighed(&counts[i])),
                    examples[i].intent.index(),
                )
            })
            .collect();
        let loss = |t: f32| -> f32 {
            logits
                .iter()
                .map(|(l, y)| {
                    let mut p = *l;
                    softmax(&mut p, t);
                    -(p[*y].max(1e-9)).ln()
                })
                .sum()
        };
        (1..=100)
            .map(|step| step as f32 * 0.05)
            .min_by(|a, b| loss(*a).total_cmp(&loss(*b)))
            .unwrap_or(1.0)
    }

    /// The model as JSON (arrays in base64): what the store keeps per tenant.
    pub fn to_json(&self) -> String {
        let file = ModelFile {
            format: FORMAT,
            classes: Intent::ALL.iter().map(|i| i.to_string()).collect(),
            examples: self.examples,
            temperature: self.temperature,
            bias: self.bias.to_vec(),
            buckets: encode(&self.buckets, u32::to_le_bytes),
            idf: encode(&self.idf, f32::to_le_bytes),
            weights: encode(&self.weights, f32::to_le_bytes),
        };
        serde_json::to_string(&file).expect("a model serialises")
    }

    /// A model from [`to_json`](Self::to_json)'s output.
    pub fn from_json(json: &str) -> Result<Self, ModelFileError> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let format: Format = serde_json::from_str(json)?;
        if format.format != FORMAT {
            return Err(ModelFileError::Format {
                found: format.format,
            });
        }
        let file: ModelFile = serde_json::from_str(json)?;
        let labels: Vec<String> = Intent::ALL.iter().map(|i| i.to_string()).collect();
        if file.classes != labels {
            return Err(ModelFileError::Damaged(format!(
                "its classes are {:?}, not {labels:?}",
                file.classes
            )));
        }
        let buckets = decode("buckets", &file.buckets, u32::from_le_bytes)?;
        let idf = decode("idf", &file.idf, f32::from_le_bytes)?;
        let weights = decode("weights", &file.weights, f32::from_le_bytes)?;
        let bias: [f32; CLASSES] = file
            .bias
            .try_into()
            .map_err(|_| ModelFileError::Damaged("bias is not one per class".into()))?;
        if idf.len() != buckets.len()
            || weights.len() != buckets.len() * CLASSES
            || !buckets.windows(2).all(|w| w[0] < w[1])
            || !(file.temperature > 0.0 && file.temperature.is_finite())
        {
            return Err(ModelFileError::Damaged(
                "its arrays disagree in length, or its buckets are out of order".into(),
            ));
        }
        Ok(Model {
            buckets,
            idf,
            weights,
            bias,
            temperature: file.temperature,
            examples: file.examples,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(subject: &str, intent: Intent) -> Labelled {
        Labelled {
            subject: subject.into(),
            body: String::new(),
            intent,
            weight: 1.0,
        }
    }

    fn tiny() -> Vec<Labelled> {
        let mut out = Vec::new();
        for word in ["please", "urgent", "help", "asap", "today"] {
            out.push(example(
                &format!("forgot my password {word}"),
                Intent::PasswordReset,
            ));
            out.push(example(
                &format!("account locked out {word}"),
                Intent::AccountUnlock,
            ));
            out.push(example(&format!("printer jammed {word}"), Intent::Other));
        }
        out
    }

    #[test]
    fn it_learns_words_and_is_deterministic() {
        let trainer = Trainer::default();
        let model = trainer.train(&tiny());
        assert_eq!(
            model.predict("password forgot", "").intent,
            Intent::PasswordReset
        );
        assert_eq!(
            model.predict("locked out", "").intent,
            Intent::AccountUnlock
        );
        assert_eq!(model.predict("the printer", "").intent, Intent::Other);
        assert_eq!(model, trainer.train(&tiny()));
        let p = model.predict("forgot my password", "");
        assert!((p.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn a_model_survives_its_file_and_a_damaged_file_is_refused() {
        let model = Trainer::default().train(&tiny());
        let back = Model::from_json(&model.to_json()).unwrap();
        assert_eq!(back, model);
        let mut file: serde_json::Value = serde_json::from_str(&model.to_json()).unwrap();
        file["format"] = 9.into();
        let err = Model::from_json(&file.to_string()).unwrap_err();
        assert!(err.to_string().contains("triage train"), "{err}");
        file["format"] = 1.into();
        file["idf"] = "AAAA".into();
        assert!(matches!(
            Model::from_json(&file.to_string()),
            Err(ModelFileError::Damaged(_))
        ));
    }
}
