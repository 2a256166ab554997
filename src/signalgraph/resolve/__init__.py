"""Entity resolution: names, identifiers, comparisons, the model, the funnel, decisions."""
