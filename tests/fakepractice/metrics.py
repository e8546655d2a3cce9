from datamodeling.exercises import Exercise
from datamodeling.registry import Metric


def total_size(con):
    thing = con.table("thing")
    return thing.aggregate(total=thing.size.sum(), things=thing.count())


METRICS = {
    "total_size": Metric(
        "total_size",
        "How big is everything?",
        "Sum of sizes and number of things.",
        total_size,
        "SELECT sum(size) AS total, count(*) AS things FROM thing",
    )
}
EXERCISES = {
    "fake.big": Exercise(
        "fake.big",
        "Things bigger than 50, with their size.",
        "SELECT thing_id, size FROM thing WHERE size > 50",
    ),
    "fake.grain": Exercise("fake.grain", "The grain of thing?", ["thing_id"]),
}
