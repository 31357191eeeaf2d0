"""The main job (`telco360 demo`): the whole key-account story on a generated base."""
