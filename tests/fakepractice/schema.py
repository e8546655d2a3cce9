from datamodeling.schema import Column, Table

TABLES = [
    Table(
        "thing",
        role="dimension",
        grain="One row per thing.",
        columns=[
            Column("thing_id", "int64", "Key.", nullable=False),
            Column("size", "int64", "Size."),
        ],
        primary_key=["thing_id"],
    )
]
