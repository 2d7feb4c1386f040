"""GET /api/models/{id}/projection: the PCA that draws a cell's hidden state as a 2-D path."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ProjectionReference(BaseModel):
    source: Literal["task", "sample", "vocabulary"] = Field(
        description="Where the reference states come from (docs/contracts.md, the hidden "
        "state's path): the model's training task, text it generated, or its vocabulary."
    )
    description: str = Field(description="The same in a sentence, for the page.")
    sequences: int = Field(description="Reference sequences run through the model.")
    states: int = Field(description="Reference states N the PCA was fitted on (all their h_t).")


class Projection(BaseModel):
    model: str
    layer: int = Field(description="The cell's layer, resolved to 0..L-1.")
    direction: int = Field(description="0 forward, 1 reverse.")
    hidden_size: int
    mean: list[float] = Field(description="(H,) the reference states' mean.")
    components: list[list[float]] = Field(
        description="(k, H), k = min(2, H): the principal axes, largest variance first; each "
        "row's largest entry in absolute value is positive (zeros past the states' rank)."
    )
    explained_variance: list[float] = Field(description="(k,) variance along each axis (N-1).")
    explained_variance_ratio: list[float] = Field(description="(k,) its share of the total.")
    reference: ProjectionReference
    extent: list[list[float]] = Field(
        description="(k, 2) [min, max] of every reference state's coordinate on each axis."
    )
    points: list[list[float]] = Field(
        description="Up to projection_points reference states as points (k each), evenly "
        "spaced over the reference."
    )
