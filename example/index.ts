// Entry point for `pulumi up` in the repository root (Pulumi.yaml: main: example/).
import { program } from "./program";

export = program();
