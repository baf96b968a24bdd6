"""One function or method of TorchScript code, judged statement by statement: its locals and the
archive classes they hold, every call, attribute and name resolved as torch resolves it."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from registry.errors import FormatError
from registry.formats.torchscript_syntax import (
    BUILTIN_OPERATORS,
    FLOAT_NAMES,
    MODULE_ROOTS,
    OP_CODE,
    RESERVED,
    TYPE_ARGUMENT,
    bound_targets,
    bound_value,
    chain,
    construct,
    is_constants_entry,
    is_torchbind,
    literal,
    module_operator,
)

if TYPE_CHECKING:
    from registry.formats.torchscript_code import CodeJudge


class FunctionJudge:
    """One function or method: its locals and the types they hold, then every statement."""

    def __init__(self, judge: CodeJudge, node: ast.FunctionDef, cls: str | None, entry: str):
        self.judge_of = judge
        self.node = node
        self.cls = cls
        self.entry = entry
        self.where = f"{entry}: {node.name}()"
        self.locals: dict[str, str | None] = {}
        self._bind_parameters()
        for statement in ast.walk(node):
            for target in bound_targets(statement):
                self._bind(target, bound_value(statement))

    def _bind_parameters(self) -> None:
        arguments = self.node.args
        if arguments.vararg or arguments.kwarg or arguments.posonlyargs or arguments.kwonlyargs:
            raise construct(self.entry, self.node, "(*args, **kwargs or keyword-only arguments)")
        for index, argument in enumerate(arguments.args):
            if index == 0 and self.cls is not None:
                # A method's first argument is an object of its class, whatever its annotation
                # says: torch ignores that annotation, so the judge must too.
                self.locals[argument.arg] = self.cls
            else:  # torch checks every other argument against its annotation
                self.locals[argument.arg] = self._class_of_type(argument.annotation)

    def _bind(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name) and (target.id in RESERVED or target.id in FLOAT_NAMES):
            raise FormatError(OP_CODE, f"{self.where} binds {target.id}, which torch reserves")
        if isinstance(target, ast.Name):
            inferred = self.type_of(value) if value is not None else None
            if target.id in self.locals and self.locals[target.id] != inferred:
                inferred = None  # bound twice to different things: unknown
            self.locals[target.id] = inferred
        elif isinstance(target, ast.Tuple):
            for element in target.elts:
                self._bind(element, None)

    # -- inference of the archive class a value holds -----------------------------------------
    def _class_of_type(self, annotation: ast.expr | None) -> str | None:
        if annotation is None:
            return None
        parts = chain(annotation)
        if parts is None or parts[0] != "__torch__":
            return None
        qualified = ".".join(parts)
        return qualified if qualified in self.judge_of.classes or is_torchbind(qualified) else None

    def type_of(self, node: ast.expr | None) -> str | None:
        """The archive (or TorchBind) class of an expression's value, when it is plain to see."""
        if isinstance(node, ast.Name):
            return self.locals.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.judge_of.classes.get(self.type_of(node.value) or "")
            if owner is not None:
                return self._class_of_type(owner.members.get(node.attr))
            return None
        if isinstance(node, ast.Call):
            parts = chain(node.func)
            if parts is not None and parts[0] == "__torch__" and parts[-1] == "__new__":
                return self._class_of_type(node.func.value)  # type: ignore[attr-defined]
            if isinstance(node.func, ast.Name) and node.args:
                if node.func.id in ("annotate", "unchecked_cast"):
                    return self._class_of_type(node.args[0])
                if node.func.id == "getattr" and len(node.args) >= 2:
                    name = node.args[1]
                    if isinstance(name, ast.Constant) and isinstance(name.value, str):
                        return self.type_of(ast.Attribute(node.args[0], name.value, ast.Load()))
        return None

    # -- statements -------------------------------------------------------------------------
    def judge(self) -> None:
        if self.node.decorator_list:
            raise construct(self.entry, self.node, "(decorators)")
        for argument in self.node.args.args:
            if argument.annotation is not None:
                self.judge_of.judge_type(argument.annotation, self.entry)
        for default in self.node.args.defaults:
            literal(default, self.entry)
        if self.node.returns is not None:
            self.judge_of.judge_type(self.node.returns, self.entry)
        self._block(self.node.body)

    def _block(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self._statement(statement)

    def _statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._target(target)
            self.expression(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            self.judge_of.judge_type(node.annotation, self.entry)
            if node.value is not None:
                self.expression(node.value)
        elif isinstance(node, ast.Expr | ast.Return):
            if node.value is not None:
                self.expression(node.value)
        elif isinstance(node, ast.If | ast.While):
            self.expression(node.test)
            if isinstance(node, ast.While) and node.orelse:
                raise construct(self.entry, node, "(while ... else)")
            self._block(node.body)
            self._block(node.orelse)
        elif isinstance(node, ast.For) and not node.orelse:
            self._target(node.target)
            self.expression(node.iter)
            self._block(node.body)
        elif isinstance(node, ast.With):
            for item in node.items:
                self.expression(item.context_expr)
                if item.optional_vars is not None:
                    self._target(item.optional_vars)
            self._block(node.body)
        elif isinstance(node, ast.Pass):
            pass
        else:
            raise construct(self.entry, node, f"in {self.node.name}()")

    def _target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            return
        if isinstance(node, ast.Tuple):
            self.judge_of.implied.add("prim::TupleUnpack")
            for element in node.elts:
                self._target(element)
            return
        if isinstance(node, ast.Attribute):  # self.x = ...: a declared attribute of a class
            self.expression(node.value)
            owner = self.judge_of.classes.get(self.type_of(node.value) or "")
            if owner is not None and node.attr in owner.members:
                return
            raise FormatError(
                OP_CODE,
                f"{self.where} sets attribute {node.attr} of a value that is not an object of "
                "the archive's classes",
            )
        raise construct(self.entry, node, "as an assignment target")

    # -- expressions ------------------------------------------------------------------------
    def expression(self, node: ast.expr) -> None:
        if isinstance(node, ast.Constant):
            literal(node, self.entry)
        elif isinstance(node, ast.Name):
            self._name(node.id)
        elif isinstance(node, ast.Attribute):
            self._attribute(node)
        elif isinstance(node, ast.Call):
            self._call(node)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            self.judge_of.implied.add("aten::__getitem__")
            self.expression(node.value)
            self.expression(node.slice)
        elif isinstance(node, ast.List | ast.Tuple):
            for element in node.elts:
                self.expression(element)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    raise construct(self.entry, node, "(** in a dict)")
                self.expression(key)
                self.expression(value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self.expression(node.operand)
        else:
            raise construct(self.entry, node, f"in {self.node.name}()")

    def _name(self, name: str) -> None:
        """A name used as a value: a local, never a module or an unknown global."""
        if name in self.locals or name in FLOAT_NAMES:
            return
        if name in MODULE_ROOTS or name in ("CONSTANTS", "__torch__"):
            raise FormatError(OP_CODE, f"{self.where} uses the module {name} as a value")
        raise FormatError(OP_CODE, f"{self.where} uses {name}, which is not defined")

    def _attribute(self, node: ast.Attribute) -> None:
        parts = chain(node)
        if parts is not None and parts[0] not in self.locals:
            if parts[0] in MODULE_ROOTS:
                self._operator(parts)
                return
            if parts[0] == "CONSTANTS":
                if not is_constants_entry(parts):
                    raise FormatError(OP_CODE, f"{self.where} reads {'.'.join(parts)}")
                return
            if parts[0] == "__torch__":
                self._archive_reference(parts)
                return
        self.expression(node.value)
        self._member(node.value, node.attr)

    def _operator(self, parts: list[str]) -> None:
        operator = module_operator(parts)
        if operator is None:
            raise FormatError(
                OP_CODE, f"{self.where} uses {'.'.join(parts)}, which is not one operator"
            )
        self.judge_of.operators.add(operator)
        self.judge_of.allow.require(
            self.judge_of.allow.operators,
            operator,
            f"{self.where} calls {operator} ({'.'.join(parts)}), an operator real models never "
            "use: it could read or write files, reach the network or corrupt memory",
        )

    def _archive_reference(self, parts: list[str]) -> None:
        found = self.judge_of.archive_class(parts)
        if found is None:
            self.judge_of.judge_class_reference(parts, self.entry)
            return
        qualified, rest = found
        owner = self.judge_of.classes.get(qualified)
        if not rest or (owner is not None and rest in (["__new__"], *([m] for m in owner.members))):
            return
        raise FormatError(OP_CODE, f"{self.where} uses {'.'.join(parts)}")

    def _member(self, receiver: ast.expr, name: str) -> None:
        """`value.name`: a member of the archive class the value holds, else an operator."""
        kind = self.type_of(receiver)
        owner = self.judge_of.classes.get(kind or "")
        if owner is not None and name in owner.members:
            return
        if kind is not None and is_torchbind(kind):
            self.judge_of.allow.require(
                self.judge_of.allow.torchbind_methods,
                name,
                f"{self.where} calls {name} of the C++ class {kind}",
            )
            return
        operator = f"aten::{name}"  # on a tensor, a list, a string...: the operator of that name
        self.judge_of.operators.add(operator)
        self.judge_of.allow.require(
            self.judge_of.allow.operators,
            operator,
            f"{self.where} uses .{name} of a value that is not an object of the archive's "
            f"classes, which torch resolves to {operator}, an operator real models never use",
        )

    def _call(self, node: ast.Call) -> None:
        function = node.func
        type_argument = None
        if isinstance(function, ast.Name) and function.id not in self.locals:
            name = function.id
            self.judge_of.allow.require(
                self.judge_of.allow.builtins,
                name,
                f"{self.where} calls {name}(), which is not a TorchScript built-in real models use",
            )
            if name in BUILTIN_OPERATORS:
                self.judge_of.implied.add(BUILTIN_OPERATORS[name])
            type_argument = TYPE_ARGUMENT.get(name)
            if name in ("getattr", "hasattr"):
                self._getattr(node)
                return
        elif isinstance(function, ast.Name | ast.Attribute):
            self.expression(function)
        else:
            raise construct(self.entry, node, "(a call of a computed value)")
        for index, argument in enumerate(node.args):
            if index == type_argument:
                self.judge_of.judge_type(argument, self.entry)
            elif isinstance(argument, ast.Starred):
                raise construct(self.entry, argument, "(*arguments)")
            else:
                self.expression(argument)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise construct(self.entry, node, "(**arguments)")
            self.expression(keyword.value)

    def _getattr(self, node: ast.Call) -> None:
        """getattr(x, "name") is x.name: judged the same way (the name must be a literal)."""
        if len(node.args) not in (2, 3) or node.keywords:
            raise construct(self.entry, node, "(getattr with other arguments)")
        name = node.args[1]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            raise FormatError(OP_CODE, f"{self.where} calls getattr with a computed name")
        self.expression(ast.Attribute(node.args[0], name.value, ast.Load()))
        for default in node.args[2:]:
            self.expression(default)
