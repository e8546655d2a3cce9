import pyarrow as pa

from datamodeling import synth
from datamodeling.registry import BuildReport

#: Set by a test to make the build fail half-way, after a table was written.
FAIL_AFTER_FIRST_TABLE = False
#: Set by a test to report one row lost (in != loaded + quarantined).
LOSE_A_ROW = False


def build(con, scale=None, seed=None, progress=None):
    report = BuildReport.start("fake", scale, seed)
    rows, seed = report.scale_rows, report.seed
    sizes = synth.rng(seed, "size").integers(0, 100, size=rows)
    con.create_table("thing", pa.table({"thing_id": range(rows), "size": sizes}))
    if FAIL_AFTER_FIRST_TABLE:
        raise RuntimeError("simulated crash in the middle of a build")
    report.tables["thing"] = rows
    report.add_source("thing", rows, rows - LOSE_A_ROW, 0)
    return report
