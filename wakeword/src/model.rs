//! The classifier and its training, in candle on the CPU: openWakeWord's shape of model (the W × 96
//! features flattened, small dense layers with layer norm and ReLU, one sigmoid output), trained with
//! class-balanced binary cross-entropy and AdamW. Near-misses weigh more than other negatives: they are
//! the examples that stop the model from keying on one word of the phrase.

use candle_core::{DType, Device, Tensor, D};
use candle_nn::{AdamW, Init, Linear, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::onnx_out::{ClassifierWeights, Dense};
use crate::WakewordError;

/// Training examples: each a window of `window` × 96 features, its label and its weight.
#[derive(Debug, Clone, Default)]
pub struct Examples {
    pub window: usize,
    /// Row-major [example][window × 96].
    pub x: Vec<f32>,
    /// 1 for the phrase, 0 for anything else.
    pub y: Vec<f32>,
    /// Relative weight of each example before class balancing.
    pub weight: Vec<f32>,
}

impl Examples {
    pub fn new(window: usize) -> Self {
        Examples { window, ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.window * crate::features::EMBEDDING_DIM
    }

    pub fn push(&mut self, x: &[f32], positive: bool, weight: f32) {
        debug_assert_eq!(x.len(), self.dim());
        self.x.extend_from_slice(x);
        self.y.push(if positive { 1.0 } else { 0.0 });
        self.weight.push(weight);
    }

    pub fn positives(&self) -> usize {
        self.y.iter().filter(|&&y| y > 0.5).count()
    }
}

/// Model size and optimisation settings.
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// Units per hidden layer (openWakeWord's default is 32).
    pub hidden: usize,
    /// Hidden layers (each dense → layer norm → ReLU).
    pub hidden_layers: usize,
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings { hidden: 32, hidden_layers: 2, epochs: 30, batch: 256, learning_rate: 1e-3, weight_decay: 1e-2, seed: 1 }
    }
}

const NORM_EPS: f64 = 1e-5;

/// Layer norm from plain tensor ops: candle's fused layer norm has no backward pass, so gradients
/// would stop at it and only the last layer would learn.
struct Norm {
    scale: Tensor,
    shift: Tensor,
}

impl Norm {
    fn new(size: usize, vb: VarBuilder) -> candle_core::Result<Norm> {
        Ok(Norm { scale: vb.get_with_hints(size, "weight", Init::Const(1.0))?, shift: vb.get_with_hints(size, "bias", Init::Const(0.0))? })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let centred = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + NORM_EPS)?.sqrt()?)?;
        normed.broadcast_mul(&self.scale)?.broadcast_add(&self.shift)
    }
}

struct Net {
    hidden: Vec<(Linear, Norm)>,
    out: Linear,
}

impl Net {
    fn new(dim: usize, s: &TrainSettings, vb: VarBuilder) -> Result<Net, WakewordError> {
        let mut hidden = Vec::new();
        let mut inputs = dim;
        for i in 0..s.hidden_layers {
            let lin = candle_nn::linear(inputs, s.hidden, vb.pp(format!("dense{i}")))?;
            let norm = Norm::new(s.hidden, vb.pp(format!("norm{i}")))?;
            hidden.push((lin, norm));
            inputs = s.hidden;
        }
        let out = candle_nn::linear(inputs, 1, vb.pp(format!("dense{}", s.hidden_layers)))?;
        Ok(Net { hidden, out })
    }

    /// Logits, [batch].
    fn logits(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (lin, norm) in &self.hidden {
            h = norm.forward(&lin.forward(&h)?)?.relu()?;
        }
        self.out.forward(&h)?.squeeze(D::Minus1)
    }
}

/// Progress of one epoch, for the caller's progress bar and report.
#[derive(Debug, Clone, Copy)]
pub struct EpochStats {
    pub epoch: usize,
    pub train_loss: f32,
    /// Balanced accuracy on the validation windows at 0.5 (positives caught and negatives rejected,
    /// averaged), or NaN without validation data.
    pub val_balanced_accuracy: f32,
}

/// Trains on `train`, reports each epoch on `val`, and returns the weights of the last epoch.
pub fn train(
    train: &Examples,
    val: &Examples,
    s: &TrainSettings,
    mut on_epoch: impl FnMut(EpochStats) -> bool,
) -> Result<ClassifierWeights, WakewordError> {
    let positives = train.positives();
    if positives == 0 || positives == train.len() {
        return Err(WakewordError::Training(format!(
            "the training set needs both classes ({positives} positive windows of {})",
            train.len()
        )));
    }
    let dim = train.dim();
    let device = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let net = Net::new(dim, s, vb)?;
    let params = ParamsAdamW { lr: s.learning_rate, weight_decay: s.weight_decay, ..Default::default() };
    let mut opt = AdamW::new(varmap.all_vars(), params)?;

    // Balance the classes: each class's weights sum to the same total.
    let (pos_sum, neg_sum) = train.y.iter().zip(&train.weight).fold((0.0f32, 0.0f32), |(p, n), (y, w)| {
        if *y > 0.5 { (p + w, n) } else { (p, n + w) }
    });
    let balanced: Vec<f32> = train
        .y
        .iter()
        .zip(&train.weight)
        .map(|(y, w)| if *y > 0.5 { w / pos_sum } else { w / neg_sum } * train.len() as f32 / 2.0)
        .collect();

    let mut rng = rand::rngs::StdRng::seed_from_u64(s.seed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    for epoch in 1..=s.epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0f32;
        let mut batches = 0;
        for idx in order.chunks(s.batch.max(1)) {
            let mut xb = Vec::with_capacity(idx.len() * dim);
            for &i in idx {
                xb.extend_from_slice(&train.x[i * dim..(i + 1) * dim]);
            }
            let yb: Vec<f32> = idx.iter().map(|&i| train.y[i]).collect();
            let wb: Vec<f32> = idx.iter().map(|&i| balanced[i]).collect();
            let x = Tensor::from_vec(xb, (idx.len(), dim), &device)?;
            let y = Tensor::from_vec(yb, idx.len(), &device)?;
            let w = Tensor::from_vec(wb, idx.len(), &device)?;
            let z = net.logits(&x)?;
            // Binary cross-entropy on logits, written stably: softplus(z) - y·z.
            let softplus = (z.relu()? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
            let loss = ((softplus - (&y * &z)?)? * &w)?.mean_all()?;
            opt.backward_step(&loss)?;
            loss_sum += loss.to_scalar::<f32>()?;
            batches += 1;
        }
        let weights = export(&varmap, s, train.window)?;
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / batches.max(1) as f32,
            val_balanced_accuracy: balanced_accuracy(&weights, val),
        };
        if !on_epoch(stats) {
            return Err(WakewordError::Interrupted);
        }
    }
    export(&varmap, s, train.window)
}

/// Scores of every example, by the plain-Rust forward pass of the exported weights.
pub fn scores(weights: &ClassifierWeights, ex: &Examples) -> Vec<f32> {
    let dim = ex.dim();
    (0..ex.len()).map(|i| weights.forward(&ex.x[i * dim..(i + 1) * dim])).collect()
}

fn balanced_accuracy(weights: &ClassifierWeights, val: &Examples) -> f32 {
    if val.is_empty() {
        return f32::NAN;
    }
    let s = scores(weights, val);
    let (mut tp, mut p, mut tn, mut n) = (0, 0, 0, 0);
    for (score, y) in s.iter().zip(&val.y) {
        if *y > 0.5 {
            p += 1;
            tp += usize::from(*score >= 0.5);
        } else {
            n += 1;
            tn += usize::from(*score < 0.5);
        }
    }
    (tp as f32 / p.max(1) as f32 + tn as f32 / n.max(1) as f32) / 2.0
}

/// The trained variables as [`ClassifierWeights`].
fn export(varmap: &VarMap, s: &TrainSettings, window: usize) -> Result<ClassifierWeights, WakewordError> {
    let data = varmap.data().lock().map_err(|_| WakewordError::Training("variable map poisoned".into()))?;
    let get = |name: &str| -> Result<Vec<f32>, WakewordError> {
        let var = data.get(name).ok_or_else(|| WakewordError::Training(format!("no variable {name}")))?;
        Ok(var.as_tensor().flatten_all()?.to_vec1::<f32>()?)
    };
    let mut layers = Vec::new();
    let mut inputs = window * crate::features::EMBEDDING_DIM;
    for i in 0..=s.hidden_layers {
        let last = i == s.hidden_layers;
        let outputs = if last { 1 } else { s.hidden };
        let norm = if last { None } else { Some((get(&format!("norm{i}.weight"))?, get(&format!("norm{i}.bias"))?)) };
        layers.push(Dense { inputs, outputs, weight: get(&format!("dense{i}.weight"))?, bias: get(&format!("dense{i}.bias"))?, norm });
        inputs = outputs;
    }
    Ok(ClassifierWeights { window, feature_dim: crate::features::EMBEDDING_DIM, layers, norm_epsilon: NORM_EPS as f32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two separable clouds: positives have the first 20 features of the last step high.
    fn toy(n: usize, seed: u64) -> Examples {
        use rand::Rng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut ex = Examples::new(2);
        for i in 0..n {
            let positive = i % 4 == 0;
            let mut x: Vec<f32> = (0..ex.dim()).map(|_| rng.gen_range(-1.0..1.0)).collect();
            for v in &mut x[96..116] {
                *v += if positive { 1.0 } else { -1.0 };
            }
            ex.push(&x, positive, 1.0);
        }
        ex
    }

    #[test]
    fn learns_a_separable_toy_problem() {
        let (train_set, val) = (toy(400, 1), toy(200, 2));
        let s = TrainSettings { hidden: 8, hidden_layers: 1, epochs: 15, batch: 32, learning_rate: 1e-2, ..Default::default() };
        let mut last = None;
        let w = train(&train_set, &val, &s, |e| {
            last = Some(e);
            true
        })
        .unwrap();
        assert!(last.unwrap().val_balanced_accuracy > 0.95, "{last:?}");
        assert_eq!(w.layers.len(), 2);
        assert_eq!(w.layers[0].inputs, 192);
    }

    #[test]
    fn one_class_is_an_error_and_stopping_interrupts() {
        let mut ex = Examples::new(1);
        ex.push(&[0.0; 96], false, 1.0);
        assert!(train(&ex, &ex, &TrainSettings::default(), |_| true).unwrap_err().to_string().contains("both classes"));
        let s = TrainSettings { epochs: 3, hidden: 4, hidden_layers: 1, ..Default::default() };
        assert!(matches!(train(&toy(40, 3), &toy(8, 4), &s, |_| false), Err(WakewordError::Interrupted)));
    }
}
