//! The [`Module`] trait (PyTorch's `nn.Module`), dotted parameter names and
//! the [`StateDict`] that checkpoints are made of.

use std::fmt;

use autograd::Tensor;

use crate::checkpoint::{CheckpointError, ShapeMismatch};

/// A layer or a model: `forward`, its parameters and buffers under
/// PyTorch-style dotted names, and train/eval mode.
///
/// A leaf layer overrides [`Module::named_parameters`] (and
/// [`Module::named_buffers`], [`Module::set_training`] if it has them). A
/// model made of layers only lists its children in
/// [`Module::named_children`]; names, modes and state dicts then follow from
/// them, as in PyTorch:
///
/// ```
/// use autograd::Tensor;
/// use nn::{Flatten, Linear, Module, ReLU, Sequential};
///
/// struct NeuralNetwork {
///     flatten: Flatten,
///     linear_relu_stack: Sequential,
/// }
///
/// impl Module for NeuralNetwork {
///     fn forward(&self, x: &Tensor) -> Tensor {
///         let x = self.flatten.forward(x);
///         self.linear_relu_stack.forward(&x)
///     }
///     fn named_children(&self) -> Vec<(String, &dyn Module)> {
///         vec![
///             ("flatten".into(), &self.flatten),
///             ("linear_relu_stack".into(), &self.linear_relu_stack),
///         ]
///     }
/// }
///
/// let model = NeuralNetwork {
///     flatten: Flatten::new(),
///     linear_relu_stack: nn::sequential![Linear::new(4, 3), ReLU, Linear::new(3, 2)],
/// };
/// let names: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["linear_relu_stack.0.weight", "linear_relu_stack.0.bias",
///                    "linear_relu_stack.2.weight", "linear_relu_stack.2.bias"]);
/// ```
///
/// `forward` takes `&self`: layers that change as they run (Dropout's
/// generator, BatchNorm's running statistics, the train/eval flag) use
/// interior mutability, so a model can be shared across threads.
pub trait Module: Send + Sync {
    /// Apply the module to a batch.
    fn forward(&self, x: &Tensor) -> Tensor;

    /// `relu(self.forward(x))`. [`Sequential`](crate::Sequential) calls this
    /// for a layer followed by [`ReLU`](crate::ReLU), so that a layer that can
    /// apply ReLU as it writes its output ([`Linear`](crate::Linear)) saves a
    /// pass; the values and gradients are the same either way.
    fn forward_relu(&self, x: &Tensor) -> Tensor {
        self.forward(x).relu()
    }

    /// Whether this module is [`ReLU`](crate::ReLU) (see [`Module::forward_relu`]).
    fn is_relu(&self) -> bool {
        false
    }

    /// The direct sub-modules, by name (`named_children()` in PyTorch).
    fn named_children(&self) -> Vec<(String, &dyn Module)> {
        Vec::new()
    }

    /// Every parameter, under dotted names such as `"linear_relu_stack.0.weight"`.
    /// The tensors share storage with the module: an optimizer that updates
    /// them in place updates the module. Defaults to the children's, prefixed.
    /// A tensor that two modules share appears under both names (PyTorch
    /// lists it once here; both do in the state dict, and
    /// [`Module::parameters`] lists it once).
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.named_children()
            .into_iter()
            .flat_map(|(name, child)| prefixed(&name, child.named_parameters()))
            .collect()
    }

    /// Non-trainable state saved in checkpoints (BatchNorm's running
    /// statistics). Defaults to the children's, prefixed.
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.named_children()
            .into_iter()
            .flat_map(|(name, child)| prefixed(&name, child.named_buffers()))
            .collect()
    }

    /// Switch train/eval mode; the default passes it on to every child.
    fn set_training(&self, training: bool) {
        for (_, child) in self.named_children() {
            child.set_training(training);
        }
    }

    /// What goes between the parentheses when the module is printed, such as
    /// `in_features=784, out_features=512, bias=True` (`extra_repr` in PyTorch).
    fn extra_repr(&self) -> String {
        String::new()
    }

    /// The module's type name, for printing. Defaults to the Rust type's name.
    fn type_name(&self) -> &'static str {
        let full = std::any::type_name::<Self>();
        let path = full.split('<').next().unwrap_or(full);
        path.rsplit("::").next().unwrap_or(path)
    }

    // ------------------------------------------------------------ provided

    /// The parameters without their names (`model.parameters()`), each once
    /// even when modules share it, as PyTorch lists them (so that an
    /// optimizer can be built on a model with tied weights).
    fn parameters(&self) -> Vec<Tensor> {
        let mut params: Vec<Tensor> = Vec::new();
        for (_, t) in self.named_parameters() {
            if !params.iter().any(|p| p.same(&t)) {
                params.push(t);
            }
        }
        params
    }

    /// Training mode (`model.train()`): Dropout drops, BatchNorm uses batch statistics.
    fn train(&self) {
        self.set_training(true)
    }

    /// Evaluation mode (`model.eval()`): Dropout is the identity, BatchNorm
    /// uses its running statistics.
    fn eval(&self) {
        self.set_training(false)
    }

    /// Reset every parameter's gradient to `None` (PyTorch's default
    /// `zero_grad(set_to_none=True)`).
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.set_grad(None);
        }
    }

    /// Parameters and buffers by name, grouped by module as PyTorch orders
    /// them (`0.weight, 0.bias, 0.running_mean, …, 1.weight, …`). The tensors
    /// are detached views sharing storage with the module.
    fn state_dict(&self) -> StateDict {
        let mut entries: Vec<(String, Tensor)> = self
            .named_parameters()
            .into_iter()
            .chain(self.named_buffers())
            .map(|(name, t)| (name, t.detach()))
            .collect();
        // PyTorch walks the modules (each one's parameters, its buffers, then
        // its children). Parameters come before buffers above, so a stable
        // sort by the position of each entry's module (its name without the
        // last part) in that walk puts them so. Modules that the walk does not
        // reach (named by a custom `named_parameters`) follow, in the order
        // their entries first appear.
        let mut modules: Vec<String> = Vec::new();
        walk_modules(self, "", &mut modules);
        for (name, _) in &entries {
            let owner = module_of(name);
            if !modules.iter().any(|m| m == owner) {
                modules.push(owner.to_string());
            }
        }
        entries.sort_by_key(|(name, _)| modules.iter().position(|m| m == module_of(name)));
        StateDict { entries }
    }

    /// Copy the values of `state_dict` into this module's parameters and
    /// buffers, in place (`model.load_state_dict(sd, strict)`).
    ///
    /// Everything is checked before anything is copied, so on error the
    /// module is unchanged. Errors: keys of the module missing from
    /// `state_dict` and keys of `state_dict` the module does not have (only
    /// when `strict`), and a shape that differs (always), all in one error as
    /// PyTorch reports them ([`CheckpointError::IncompatibleStateDict`]). When not strict,
    /// the keys that were skipped are returned. A missing
    /// `num_batches_tracked` is not an error: BatchNorm keeps its count, as
    /// PyTorch does for state dicts without one.
    fn load_state_dict(
        &self,
        state_dict: &StateDict,
        strict: bool,
    ) -> Result<IncompatibleKeys, CheckpointError> {
        let own = self.state_dict();
        let missing: Vec<String> = own
            .keys()
            .filter(|k| state_dict.get(k).is_none())
            .filter(|k| !crate::batchnorm::is_batch_counter(k))
            .map(String::from)
            .collect();
        let unexpected: Vec<String> = state_dict
            .keys()
            .filter(|k| own.get(k).is_none())
            .map(String::from)
            .collect();
        let mismatched: Vec<ShapeMismatch> = own
            .iter()
            .filter_map(|(key, dst)| {
                let src = state_dict.get(key)?;
                (src.shape() != dst.shape()).then(|| ShapeMismatch {
                    key: key.to_string(),
                    expected: dst.shape().to_vec(),
                    found: src.shape().to_vec(),
                })
            })
            .collect();
        let key_errors = strict && !(missing.is_empty() && unexpected.is_empty());
        if key_errors || !mismatched.is_empty() {
            // Everything at once, as PyTorch reports it; nothing was copied.
            let (missing, unexpected) = if strict {
                (missing, unexpected)
            } else {
                (Vec::new(), Vec::new())
            };
            return Err(CheckpointError::IncompatibleStateDict {
                missing,
                unexpected,
                mismatched,
            });
        }
        for (key, dst) in own.iter() {
            if let Some(src) = state_dict.get(key) {
                // `to_vec` first: `src` may share storage with `dst`.
                let values = src.to_vec();
                dst.copy_from_slice(&values);
            }
        }
        Ok(IncompatibleKeys {
            missing_keys: missing,
            unexpected_keys: unexpected,
        })
    }

    /// The module as PyTorch prints it (`print(model)`):
    ///
    /// ```text
    /// Sequential(
    ///   (0): Linear(in_features=4, out_features=3, bias=True)
    ///   (1): ReLU()
    /// )
    /// ```
    fn repr(&self) -> String {
        let children = self.named_children();
        let extra = self.extra_repr();
        if children.is_empty() {
            return format!("{}({extra})", self.type_name());
        }
        let mut out = format!("{}(\n", self.type_name());
        if !extra.is_empty() {
            out += &format!("  {extra}\n");
        }
        for (name, child) in children {
            out += &format!("  ({name}): {}\n", child.repr().replace('\n', "\n  "));
        }
        out + ")"
    }
}

/// `x` (f32 or f64) as Python's `repr(float)` prints it: the shortest digits
/// that read back, positional for 1e-4 <= |x| < 1e16 (`0.001`, `2.0`), else
/// with an exponent of at least two digits (`1e-05`).
pub(crate) fn python_float<T: std::fmt::LowerExp + Into<f64> + Copy>(x: T) -> String {
    let value: f64 = x.into();
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    let digits = format!("{x:e}"); // the shortest that reads back as a T
    let (mantissa, exponent) = digits.split_once('e').unwrap_or((&digits, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if value == 0.0 || (-4..16).contains(&exponent) {
        let positional: f64 = format!("{mantissa}e{exponent}").parse().unwrap_or(value);
        let text = format!("{positional}");
        return if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// The dotted names of `module` and its descendants, in PyTorch's order:
/// each module before its children.
fn walk_modules(module: &(impl Module + ?Sized), name: &str, out: &mut Vec<String>) {
    out.push(name.to_string());
    for (child_name, child) in module.named_children() {
        let full = match name {
            "" => child_name,
            _ => format!("{name}.{child_name}"),
        };
        walk_modules(child, &full, out);
    }
}

/// The name of the module that owns a parameter: `"a.0.weight"` -> `"a.0"`.
fn module_of(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(owner, _)| owner)
}

/// Prefix each name with `prefix.`: how a parent names its child's parameters.
/// For a model that has parameters of its own as well as children:
///
/// ```
/// use autograd::Tensor;
/// use nn::{prefixed, Linear, Module};
///
/// struct Scaled { scale: Tensor, body: Linear }
/// impl Module for Scaled {
///     fn forward(&self, x: &Tensor) -> Tensor { self.body.forward(x).mul(&self.scale) }
///     fn named_parameters(&self) -> Vec<(String, Tensor)> {
///         let mut named = vec![("scale".to_string(), self.scale.clone())];
///         named.extend(prefixed("body", self.body.named_parameters()));
///         named
///     }
/// }
/// let m = Scaled { scale: Tensor::ones(&[2]).requires_grad_(true), body: Linear::new(3, 2) };
/// assert_eq!(m.named_parameters()[1].0, "body.weight");
/// ```
pub fn prefixed(prefix: &str, named: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
    named
        .into_iter()
        .map(|(name, t)| (format!("{prefix}.{name}"), t))
        .collect()
}

/// Keys skipped by a non-strict [`Module::load_state_dict`] (PyTorch's
/// `_IncompatibleKeys`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncompatibleKeys {
    /// Keys of the module that the state dict did not have (left unchanged).
    pub missing_keys: Vec<String>,
    /// Keys of the state dict that the module does not have (ignored).
    pub unexpected_keys: Vec<String>,
}

/// Named tensors in order: a model's parameters and buffers, or a checkpoint's
/// contents (PyTorch's `state_dict()`, an ordered dict).
#[derive(Clone, Default)]
pub struct StateDict {
    entries: Vec<(String, Tensor)>,
}

impl StateDict {
    /// An empty state dict.
    pub fn new() -> StateDict {
        StateDict::default()
    }

    /// Add `tensor` under `name`, replacing (in place, keeping its position)
    /// any tensor already there.
    pub fn insert(&mut self, name: impl Into<String>, tensor: Tensor) {
        let name = name.into();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = tensor,
            None => self.entries.push((name, tensor)),
        }
    }

    /// The tensor under `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    /// The names with their tensors, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.entries.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// The number of tensors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl FromIterator<(String, Tensor)> for StateDict {
    fn from_iter<I: IntoIterator<Item = (String, Tensor)>>(iter: I) -> StateDict {
        let mut sd = StateDict::new();
        for (name, t) in iter {
            sd.insert(name, t);
        }
        sd
    }
}

impl IntoIterator for StateDict {
    type Item = (String, Tensor);
    type IntoIter = std::vec::IntoIter<(String, Tensor)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl fmt::Debug for StateDict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(n, t)| (n, t.shape())))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::python_float;

    #[test]
    fn floats_print_as_python_prints_them() {
        let cases = [
            (1e-5, "1e-05"),
            (1e-3, "0.001"),
            (1e-4, "0.0001"),
            (0.1, "0.1"),
            (2.0, "2.0"),
            (0.0, "0.0"),
            (2.5e-7, "2.5e-07"),
            (1e20, "1e+20"),
        ];
        for (x, want) in cases {
            assert_eq!(python_float(x as f32), want, "{x} as f32");
            assert_eq!(python_float(x), want, "{x}");
        }
        assert_eq!(python_float(f64::NAN), "nan");
    }
}
