"""surveys — questionnaires on every channel, and the three rates (知晓率, 参与率, 满意率) anyone can recompute."""
