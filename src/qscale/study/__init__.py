"""The main job: run every enabled stage, write a run folder with results.json and report.html."""
