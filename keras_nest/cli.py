"""The `keras-nest` command line."""

import argparse
import json
import sys


def _models(args):
    import keras_nest

    rows = []
    for name in keras_nest.list_models():
        model = keras_nest.create_model(name)
        rows.append(
            {
                "name": name,
                "params": model.count_params(),
                "input_size": "x".join(str(s) for s in model.input_shape[1:3]),
                "gmacs": round(keras_nest.count_macs(model) / 1e9, 3),
            }
        )
        del model
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'name':<22}{'params':>14}{'input':>10}{'GMACs':>9}")
    for row in rows:
        print(f"{row['name']:<22}{row['params']:>14,}{row['input_size']:>10}{row['gmacs']:>9.2f}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="keras-nest", description="NesT for Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)
    models = commands.add_parser("models", help="list the named models with sizes and costs")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.set_defaults(run=_models)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
