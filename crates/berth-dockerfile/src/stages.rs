//! Build stages and what each needs. A stage starts at each `FROM`; the `ARG`s before the first
//! `FROM` are global and usable in `FROM` lines (inside a stage, `ARG name` without a default
//! brings a global value in). A stage depends on its base when that is an earlier stage, on
//! the stages named by `COPY --from` and `RUN --mount=from=`. Base names can use global ARGs,
//! so the graph is complete once they are expanded: [`Stages::resolve`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::{DockerfileError, ErrorKind};
use crate::expand::{Env, Expander, Lexer};
use crate::instructions::{ArgDecl, From, Instruction, InstructionKind};
use crate::parser::Dockerfile;
use crate::platform::Platform;

/// The stages of a Dockerfile, before build arguments are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stages {
    global_args: Vec<Instruction>,
    stages: Vec<Stage>,
    /// Stage indices by name.
    names: HashMap<String, usize>,
    file: String,
    lexer: Lexer,
}

/// One `FROM` and the instructions up to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The `FROM` instruction.
    pub from: Instruction,
    /// Its `FROM` arguments, unexpanded.
    pub base: From,
    pub instructions: Vec<Instruction>,
    /// What `COPY --from` and `RUN --mount=from=` name, in order, repeats removed.
    pub sources: Vec<Source>,
}

/// Where files come from, besides the build context.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A stage of this Dockerfile, by index.
    Stage(usize),
    /// An image (or a named build context), by reference.
    Image(String),
}

/// The stage graph for a set of build arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageGraph {
    /// The global ARG values: the predefined ones, then the global `ARG`s in order, each from
    /// its build argument or its expanded default.
    pub global_args: BTreeMap<String, String>,
    pub stages: Vec<ResolvedStage>,
}

/// A stage with its `FROM` line expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedStage {
    pub name: Option<String>,
    pub base: Base,
    /// `--platform`, expanded and normalized.
    pub platform: Option<Platform>,
    /// The global ARGs the `FROM` line used (for the cache key).
    pub used_args: BTreeSet<String>,
    /// The stages it needs: its base stage and its stage sources, in index order.
    pub deps: Vec<usize>,
}

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `FROM scratch`: nothing.
    Scratch,
    /// An earlier stage.
    Stage(usize),
    /// An image reference, expanded.
    Image(String),
}

impl Dockerfile {
    /// The stages of this file.
    pub fn stages(&self) -> Result<Stages, DockerfileError> {
        Stages::new(self)
    }
}

fn error_at(instruction: &Instruction, kind: ErrorKind, file: &str) -> DockerfileError {
    DockerfileError::new(kind)
        .at_line(instruction.location.start_line)
        .in_instruction(instruction.name())
        .with_file(file)
}

/// A stage's name for messages: its own, or BuildKit's `stage-N`.
fn display_name(name: Option<&str>, index: usize) -> String {
    name.map_or_else(|| format!("stage-{index}"), str::to_string)
}

impl Stages {
    /// Groups `dockerfile`'s instructions into stages and finds their sources.
    pub fn new(dockerfile: &Dockerfile) -> Result<Stages, DockerfileError> {
        let file = dockerfile.file.as_str();
        let mut global_args = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        let mut names = HashMap::new();
        for instruction in dockerfile.instructions()? {
            if let InstructionKind::From(from) = &instruction.kind {
                if let Some(name) = &from.name {
                    if names.insert(name.clone(), stages.len()).is_some() {
                        let kind = ErrorKind::DuplicateStageName(name.clone());
                        return Err(error_at(&instruction, kind, file));
                    }
                }
                stages.push(Stage {
                    base: from.clone(),
                    from: instruction,
                    instructions: Vec::new(),
                    sources: Vec::new(),
                });
                continue;
            }
            match (stages.last_mut(), &instruction.kind) {
                (Some(stage), _) => stage.instructions.push(instruction),
                (None, InstructionKind::Arg(_)) => global_args.push(instruction),
                (None, _) => return Err(error_at(&instruction, ErrorKind::NoStage, file)),
            }
        }
        if stages.is_empty() {
            return Err(DockerfileError::new(ErrorKind::NoStages).with_file(file));
        }
        let mut all = Stages {
            global_args,
            stages,
            names,
            file: dockerfile.file.clone(),
            lexer: dockerfile.lexer(),
        };
        for index in 0..all.stages.len() {
            let sources = all.sources(index)?;
            all.stages[index].sources = sources;
        }
        Ok(all)
    }

    /// The `ARG` instructions before the first `FROM`.
    pub fn global_args(&self) -> &[Instruction] {
        &self.global_args
    }

    /// The stages, in file order (a stage's index is its position).
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The index of the stage named `name` (case-insensitive).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.get(&name.to_lowercase()).copied()
    }

    /// What stage `index` copies or mounts from.
    fn sources(&self, index: usize) -> Result<Vec<Source>, DockerfileError> {
        let no_env = |_: &str| None::<String>;
        let mut sources = Vec::new();
        for instruction in &self.stages[index].instructions {
            let error = |kind| error_at(instruction, kind, &self.file);
            match &instruction.kind {
                InstructionKind::Copy(copy) => {
                    let Some(from) = &copy.from else { continue };
                    let literal = self.lexer.expand_word(from, &no_env).map(|e| e.value);
                    if literal.as_deref() != Ok(from.as_str()) {
                        return Err(error(ErrorKind::CopyFromVariable));
                    }
                    // A number is the index of an earlier stage.
                    sources.push(match from.parse::<i64>() {
                        Ok(n) => match usize::try_from(n) {
                            Ok(n) if n < index => Source::Stage(n),
                            _ => return Err(error(ErrorKind::InvalidStageIndex(from.clone()))),
                        },
                        Err(_) => self.source(from),
                    });
                }
                InstructionKind::Run(run) => {
                    sources.extend(
                        run.mounts
                            .iter()
                            .filter_map(|m| m.from())
                            .map(|from| self.source(from)),
                    );
                }
                _ => {}
            }
        }
        let mut seen = BTreeSet::new();
        sources.retain(|source| seen.insert(source.clone()));
        Ok(sources)
    }

    fn source(&self, name: &str) -> Source {
        match self.find(name) {
            Some(index) => Source::Stage(index),
            None => Source::Image(name.to_string()),
        }
    }

    /// Expands the `FROM` lines with the global ARGs: `build_args` (`--build-arg`) override
    /// the defaults of global `ARG`s and of `predefined` (the platform ARGs,
    /// [`predefined_args`](crate::platform::predefined_args)); build arguments without a global
    /// `ARG` are not visible to `FROM`, as in Docker.
    pub fn resolve(
        &self,
        build_args: &dyn Env,
        predefined: &BTreeMap<String, String>,
    ) -> Result<StageGraph, DockerfileError> {
        let mut globals: BTreeMap<String, String> = predefined
            .iter()
            .map(|(name, value)| {
                let value = build_args
                    .get(name)
                    .map_or_else(|| value.clone(), |v| v.into_owned());
                (name.clone(), value)
            })
            .collect();
        for instruction in &self.global_args {
            let InstructionKind::Arg(decls) = &instruction.kind else {
                continue;
            };
            for ArgDecl { name, default } in decls {
                let value = match (build_args.get(name), default) {
                    (Some(value), _) => value.into_owned(),
                    (None, Some(default)) => {
                        let expanded = self.lexer.expand_word(default, &globals);
                        expanded
                            .map_err(|e| error_at(instruction, ErrorKind::Expand(e), &self.file))?
                            .value
                    }
                    (None, None) => continue,
                };
                globals.insert(name.clone(), value);
            }
        }
        let stages = (0..self.stages.len())
            .map(|index| self.resolve_stage(index, &globals))
            .collect::<Result<Vec<_>, _>>()?;
        let graph = StageGraph {
            global_args: globals,
            stages,
        };
        graph.check_cycles().map_err(|e| e.with_file(&self.file))?;
        Ok(graph)
    }

    fn resolve_stage(
        &self,
        index: usize,
        globals: &BTreeMap<String, String>,
    ) -> Result<ResolvedStage, DockerfileError> {
        let stage = &self.stages[index];
        let error = |kind| error_at(&stage.from, kind, &self.file);
        let mut ex = Expander::new(self.lexer, globals);
        let name = ex
            .word(&stage.base.base)
            .map_err(|e| error(ErrorKind::Expand(e)))?;
        if name.is_empty() {
            return Err(error(ErrorKind::BlankBaseName(stage.base.base.clone())));
        }
        let platform = match &stage.base.platform {
            None => None,
            Some(expression) => {
                let value = ex
                    .word(expression)
                    .map_err(|e| error(ErrorKind::Expand(e)))?;
                if value.is_empty() {
                    return Err(error(ErrorKind::BlankPlatform(expression.clone())));
                }
                let platform = Platform::parse(&value).map_err(|e| {
                    error(ErrorKind::InvalidPlatform {
                        expression: expression.clone(),
                        reason: e.to_string(),
                    })
                })?;
                Some(platform)
            }
        };
        // Only an earlier stage can be a base; a later one of that name is an image.
        let base = match self.find(&name).filter(|&i| i < index) {
            Some(i) => Base::Stage(i),
            None if name == "scratch" => Base::Scratch,
            None => Base::Image(name),
        };
        let mut deps: BTreeSet<usize> = stage
            .sources
            .iter()
            .filter_map(|source| match source {
                Source::Stage(i) => Some(*i),
                Source::Image(_) => None,
            })
            .collect();
        if let Base::Stage(i) = base {
            deps.insert(i);
        }
        Ok(ResolvedStage {
            name: stage.base.name.clone(),
            base,
            platform,
            used_args: ex.used().clone(),
            deps: deps.into_iter().collect(),
        })
    }
}

impl StageGraph {
    /// The index of the stage named `name` (case-insensitive).
    pub fn find(&self, name: &str) -> Option<usize> {
        let name = name.to_lowercase();
        self.stages
            .iter()
            .position(|s| s.name.as_deref() == Some(name.as_str()))
    }

    /// The stages `target` needs, itself included, dependencies before the stages that use
    /// them (by index where the order is free). `None` builds the last stage.
    pub fn needed(&self, target: Option<&str>) -> Result<Vec<usize>, DockerfileError> {
        let target = match target {
            None => self
                .stages
                .len()
                .checked_sub(1)
                .ok_or_else(|| DockerfileError::new(ErrorKind::NoStages))?,
            Some(name) => self
                .find(name)
                .ok_or_else(|| DockerfileError::new(ErrorKind::UnknownTarget(name.to_string())))?,
        };
        let mut needed = BTreeSet::from([target]);
        let mut stack = vec![target];
        while let Some(index) = stack.pop() {
            for &dep in self.deps(index) {
                if needed.insert(dep) {
                    stack.push(dep);
                }
            }
        }
        // Kahn's algorithm, always taking the lowest ready index.
        let mut users: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut waiting: HashMap<usize, usize> = HashMap::new();
        for &index in &needed {
            let deps = self.deps(index);
            waiting.insert(index, deps.len());
            for &dep in deps {
                users.entry(dep).or_default().push(index);
            }
        }
        let mut ready: BTreeSet<usize> = waiting
            .iter()
            .filter(|(_, &n)| n == 0)
            .map(|(&i, _)| i)
            .collect();
        let mut order = Vec::with_capacity(needed.len());
        while let Some(index) = ready.pop_first() {
            order.push(index);
            for user in users.remove(&index).unwrap_or_default() {
                let count = waiting.entry(user).or_default();
                *count = count.saturating_sub(1);
                if *count == 0 {
                    ready.insert(user);
                }
            }
        }
        Ok(order)
    }

    /// The stages `index` needs; none for an index out of range (the fields are public).
    fn deps(&self, index: usize) -> &[usize] {
        self.stages
            .get(index)
            .map_or(&[], |stage| stage.deps.as_slice())
    }

    /// A stage that needs itself, directly or not, cannot be built.
    fn check_cycles(&self) -> Result<(), DockerfileError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut marks = vec![Mark::New; self.stages.len()];
        for root in 0..self.stages.len() {
            if marks[root] != Mark::New {
                continue;
            }
            // Depth-first, with an explicit stack of (stage, next dependency to visit).
            let mut stack = vec![(root, 0)];
            marks[root] = Mark::Open;
            while let Some(&mut (index, ref mut next)) = stack.last_mut() {
                let Some(&dep) = self.deps(index).get(*next) else {
                    marks[index] = Mark::Done;
                    stack.pop();
                    continue;
                };
                *next += 1;
                match marks.get(dep).copied().unwrap_or(Mark::Done) {
                    Mark::Open => {
                        let name = display_name(self.stages[root].name.as_deref(), root);
                        return Err(ErrorKind::CircularDependency(name).into());
                    }
                    Mark::New => {
                        marks[dep] = Mark::Open;
                        stack.push((dep, 0));
                    }
                    Mark::Done => {}
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
