//! The trained classifier as an ONNX model, written from Rust with `prost` (the few messages of
//! `onnx.proto` it needs are declared here with their field numbers).
//!
//! The graph has openWakeWord's classifier interface, so Python `openwakeword` loads it unchanged and
//! Hearth's wake service reads the window from it: input `x` f32 [1, W, 96] → Flatten → (Gemm →
//! LayerNormalization → Relu) per hidden layer → Gemm → Sigmoid → output `score` f32 [1, 1].

use std::path::Path;

use prost::Message;

use crate::WakewordError;

/// One dense layer: `y = x · wᵀ + b`, then (hidden layers) layer norm and ReLU.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    /// Row-major [outputs][inputs].
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    /// Layer norm scale and shift, each `outputs` long; `None` on the last layer.
    pub norm: Option<(Vec<f32>, Vec<f32>)>,
}

/// Everything the ONNX file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierWeights {
    /// Embedding steps the classifier reads (openWakeWord's W, 16 for its own models).
    pub window: usize,
    /// Features per step (96).
    pub feature_dim: usize,
    pub layers: Vec<Dense>,
    pub norm_epsilon: f32,
}

/// Names read by both openWakeWord and Hearth (they take whatever name the model declares).
pub const INPUT_NAME: &str = "x";
pub const OUTPUT_NAME: &str = "score";
/// ai.onnx opset: 17 is the first with LayerNormalization.
const OPSET: i64 = 17;
/// IR version 8 goes with opset 17.
const IR_VERSION: i64 = 8;

impl ClassifierWeights {
    /// The model as ONNX protobuf bytes.
    pub fn to_onnx(&self, doc: &str) -> Result<Vec<u8>, WakewordError> {
        let mut nodes = Vec::new();
        let mut initializers = Vec::new();
        let flat = "flat".to_string();
        nodes.push(node("Flatten", vec![INPUT_NAME.into()], vec![flat.clone()], vec![int_attr("axis", 1)]));
        let mut current = flat;
        let mut expected_inputs = self.window * self.feature_dim;
        for (i, layer) in self.layers.iter().enumerate() {
            if layer.inputs != expected_inputs || layer.weight.len() != layer.inputs * layer.outputs || layer.bias.len() != layer.outputs {
                return Err(WakewordError::Training(format!("layer {i} has inconsistent shapes")));
            }
            expected_inputs = layer.outputs;
            let (w, b) = (format!("dense{i}.weight"), format!("dense{i}.bias"));
            initializers.push(tensor(&w, &[layer.outputs as i64, layer.inputs as i64], &layer.weight));
            initializers.push(tensor(&b, &[layer.outputs as i64], &layer.bias));
            let out = format!("dense{i}");
            nodes.push(node("Gemm", vec![current, w, b], vec![out.clone()], vec![int_attr("transB", 1)]));
            current = out;
            if let Some((scale, shift)) = &layer.norm {
                let (s, h) = (format!("norm{i}.scale"), format!("norm{i}.bias"));
                initializers.push(tensor(&s, &[layer.outputs as i64], scale));
                initializers.push(tensor(&h, &[layer.outputs as i64], shift));
                let normed = format!("norm{i}");
                let attrs = vec![int_attr("axis", -1), float_attr("epsilon", self.norm_epsilon)];
                nodes.push(node("LayerNormalization", vec![current, s, h], vec![normed.clone()], attrs));
                let relu = format!("relu{i}");
                nodes.push(node("Relu", vec![normed], vec![relu.clone()], vec![]));
                current = relu;
            }
        }
        if expected_inputs != 1 {
            return Err(WakewordError::Training(format!("the last layer has {expected_inputs} outputs, expected 1")));
        }
        nodes.push(node("Sigmoid", vec![current], vec![OUTPUT_NAME.into()], vec![]));
        let graph = GraphProto {
            node: nodes,
            name: "hearth_wakeword".into(),
            initializer: initializers,
            doc_string: String::new(),
            input: vec![value_info(INPUT_NAME, &[1, self.window as i64, self.feature_dim as i64])],
            output: vec![value_info(OUTPUT_NAME, &[1, 1])],
        };
        let model = ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
            producer_name: "hearth-wakeword".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            domain: String::new(),
            model_version: 1,
            doc_string: doc.into(),
            graph: Some(graph),
        };
        Ok(model.encode_to_vec())
    }

    /// Writes the model to `path` (through a temporary file, so a crash never leaves half a model).
    pub fn write_onnx(&self, path: &Path, doc: &str) -> Result<(), WakewordError> {
        let bytes = self.to_onnx(doc)?;
        let tmp = path.with_extension("onnx.tmp");
        std::fs::write(&tmp, bytes).map_err(|e| WakewordError::file(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| WakewordError::file(path, e))
    }

    /// The same computation in plain Rust (for checking the export and scoring without a runtime).
    pub fn forward(&self, x: &[f32]) -> f32 {
        let mut v = x.to_vec();
        for layer in &self.layers {
            let mut y: Vec<f32> = (0..layer.outputs)
                .map(|o| {
                    let row = &layer.weight[o * layer.inputs..(o + 1) * layer.inputs];
                    row.iter().zip(&v).map(|(a, b)| a * b).sum::<f32>() + layer.bias[o]
                })
                .collect();
            if let Some((scale, shift)) = &layer.norm {
                let n = y.len() as f32;
                let mean = y.iter().sum::<f32>() / n;
                let var = y.iter().map(|a| (a - mean) * (a - mean)).sum::<f32>() / n;
                let inv = 1.0 / (var + self.norm_epsilon).sqrt();
                for (k, a) in y.iter_mut().enumerate() {
                    *a = ((*a - mean) * inv * scale[k] + shift[k]).max(0.0);
                }
            }
            v = y;
        }
        1.0 / (1.0 + (-v[0]).exp())
    }
}

fn node(op: &str, input: Vec<String>, output: Vec<String>, attribute: Vec<AttributeProto>) -> NodeProto {
    let name = format!("{op}_{}", output.first().map(String::as_str).unwrap_or(""));
    NodeProto { input, output, name, op_type: op.into(), attribute, domain: String::new() }
}

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), f: 0.0, i, r#type: 2 }
}

fn float_attr(name: &str, f: f32) -> AttributeProto {
    AttributeProto { name: name.into(), f, i: 0, r#type: 1 }
}

fn tensor(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    let raw_data = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    TensorProto { dims: dims.to_vec(), data_type: FLOAT, name: name.into(), raw_data }
}

fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims.iter().map(|&d| Dimension { dim_value: Some(d) }).collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto { tensor_type: Some(TensorType { elem_type: FLOAT, shape: Some(TensorShapeProto { dim }) }) }),
    }
}

/// `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;

// The subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) used above; field
// numbers are the protocol, the rest of each message is left out.

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(int64, tag = "1")]
    ir_version: i64,
    #[prost(message, repeated, tag = "8")]
    opset_import: Vec<OperatorSetIdProto>,
    #[prost(string, tag = "2")]
    producer_name: String,
    #[prost(string, tag = "3")]
    producer_version: String,
    #[prost(string, tag = "4")]
    domain: String,
    #[prost(int64, tag = "5")]
    model_version: i64,
    #[prost(string, tag = "6")]
    doc_string: String,
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    domain: String,
    #[prost(int64, tag = "2")]
    version: i64,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
    #[prost(string, tag = "10")]
    doc_string: String,
    #[prost(message, repeated, tag = "11")]
    input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    output: Vec<ValueInfoProto>,
}

#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<AttributeProto>,
    #[prost(string, tag = "7")]
    domain: String,
}

#[derive(Clone, PartialEq, Message)]
struct AttributeProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(float, tag = "2")]
    f: f32,
    #[prost(int64, tag = "3")]
    i: i64,
    /// AttributeType: FLOAT = 1, INT = 2.
    #[prost(int32, tag = "20")]
    r#type: i32,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct ValueInfoProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    r#type: Option<TypeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TypeProto {
    #[prost(message, optional, tag = "1")]
    tensor_type: Option<TensorType>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorType {
    #[prost(int32, tag = "1")]
    elem_type: i32,
    #[prost(message, optional, tag = "2")]
    shape: Option<TensorShapeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    dim: Vec<Dimension>,
}

#[derive(Clone, PartialEq, Message)]
struct Dimension {
    #[prost(int64, optional, tag = "1")]
    dim_value: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_weights() -> ClassifierWeights {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let mut dense = |inputs: usize, outputs: usize, norm: bool| Dense {
            inputs,
            outputs,
            weight: (0..inputs * outputs).map(|_| next() * 0.2).collect(),
            bias: (0..outputs).map(|_| next() * 0.1).collect(),
            norm: norm.then(|| ((0..outputs).map(|_| 1.0 + next() * 0.1).collect(), (0..outputs).map(|_| next() * 0.1).collect())),
        };
        let layers = vec![dense(16 * 96, 8, true), dense(8, 8, true), dense(8, 1, false)];
        ClassifierWeights { window: 16, feature_dim: 96, layers, norm_epsilon: 1e-5 }
    }

    #[test]
    fn onnx_runtime_loads_the_export_and_agrees_with_forward() {
        let weights = sample_weights();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.onnx");
        weights.write_onnx(&path, "test").unwrap();
        let lib = hearth_wake::onnx::library_path(None, Path::new("/nonexistent"));
        if !lib.is_file() {
            eprintln!("skipped: no ONNX Runtime at {} (set ORT_DYLIB_PATH)", lib.display());
            return;
        }
        let mut session = hearth_wake::onnx::session(&lib, &path, 1).unwrap();
        let (name, shape) =
            hearth_wake::onnx::input_info(&session, &path, 0, ort::value::TensorElementType::Float32).unwrap();
        assert_eq!((name.as_str(), shape), (INPUT_NAME, vec![1, 16, 96]));
        assert_eq!(hearth_wake::onnx::output_shape(&session, &path, 0).unwrap(), vec![1, 1]);
        for k in 0..3 {
            let x: Vec<f32> = (0..16 * 96).map(|i| ((i * (k + 3)) % 17) as f32 / 8.0 - 1.0).collect();
            let input = ort::value::TensorRef::from_array_view(([1usize, 16, 96], &x[..])).unwrap();
            let out = session.run(ort::inputs![INPUT_NAME => input]).unwrap();
            let (_, data) = out[0].try_extract_tensor::<f32>().unwrap();
            assert!((data[0] - weights.forward(&x)).abs() < 1e-4, "{} vs {}", data[0], weights.forward(&x));
        }
    }

    #[test]
    fn inconsistent_layers_are_refused() {
        let mut w = sample_weights();
        w.layers[1].inputs = 9;
        assert!(w.to_onnx("").is_err());
    }
}
