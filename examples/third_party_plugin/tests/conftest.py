# gan.testing provides PluginContract, the gan_pm / gan_run_dir fixtures and make_recipe/run_recipe.
pytest_plugins = ["gan.testing"]
