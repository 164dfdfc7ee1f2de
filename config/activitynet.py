"""ActivityNet 1.3 defaults: the single source of truth (values of the original configs).

Every key is overridable from the command line as ``--<key>``; ``config/schema.py`` gives each its
section, help line and range. FTCL released no ActivityNet code: the ACM stage here is ACM-Net's
``main_act.py`` training exactly (pure ACM loss, no cls epsilon, 5/1/1 cls weights, 1000 epochs,
evaluation on even epochs), and the pair stage is FTCL's own ``FTCLLoss``
(``methods/ftcl/settings.py``), whose
flags keep their THUMOS-tuned command-line defaults.
"""
import numpy as np

CLASS_NAMES = [
    'Applying sunscreen', 'Archery', 'Arm wrestling', 'Assembling bicycle', 'BMX',
    'Baking cookies', 'Ballet', 'Bathing dog', 'Baton twirling', 'Beach soccer', 'Beer pong',
    'Belly dance', 'Blow-drying hair', 'Blowing leaves', 'Braiding hair', 'Breakdancing',
    'Brushing hair', 'Brushing teeth', 'Building sandcastles', 'Bullfighting', 'Bungee jumping',
    'Calf roping', 'Camel ride', 'Canoeing', 'Capoeira', 'Carving jack-o-lanterns',
    'Changing car wheel', 'Cheerleading', 'Chopping wood', 'Clean and jerk', 'Cleaning shoes',
    'Cleaning sink', 'Cleaning windows', 'Clipping cat claws', 'Cricket', 'Croquet', 'Cumbia',
    'Curling', 'Cutting the grass', 'Decorating the Christmas tree', 'Disc dog', 'Discus throw',
    'Dodgeball', 'Doing a powerbomb', 'Doing crunches', 'Doing fencing', 'Doing karate',
    'Doing kickboxing', 'Doing motocross', 'Doing nails', 'Doing step aerobics', 'Drinking beer',
    'Drinking coffee', 'Drum corps', 'Elliptical trainer', 'Fixing bicycle', 'Fixing the roof',
    'Fun sliding down', 'Futsal', 'Gargling mouthwash', 'Getting a haircut', 'Getting a piercing',
    'Getting a tattoo', 'Grooming dog', 'Grooming horse', 'Hammer throw', 'Hand car wash',
    'Hand washing clothes', 'Hanging wallpaper', 'Having an ice cream', 'High jump',
    'Hitting a pinata', 'Hopscotch', 'Horseback riding', 'Hula hoop', 'Hurling', 'Ice fishing',
    'Installing carpet', 'Ironing clothes', 'Javelin throw', 'Kayaking', 'Kite flying',
    'Kneeling', 'Knitting', 'Laying tile', 'Layup drill in basketball', 'Long jump',
    'Longboarding', 'Making a cake', 'Making a lemonade', 'Making a sandwich',
    'Making an omelette', 'Mixing drinks', 'Mooping floor', 'Mowing the lawn', 'Paintball',
    'Painting', 'Painting fence', 'Painting furniture', 'Peeling potatoes', 'Ping-pong',
    'Plastering', 'Plataform diving', 'Playing accordion', 'Playing badminton',
    'Playing bagpipes', 'Playing beach volleyball', 'Playing blackjack', 'Playing congas',
    'Playing drums', 'Playing field hockey', 'Playing flauta', 'Playing guitarra',
    'Playing harmonica', 'Playing ice hockey', 'Playing kickball', 'Playing lacrosse',
    'Playing piano', 'Playing polo', 'Playing pool', 'Playing racquetball', 'Playing rubik cube',
    'Playing saxophone', 'Playing squash', 'Playing ten pins', 'Playing violin',
    'Playing water polo', 'Pole vault', 'Polishing forniture', 'Polishing shoes', 'Powerbocking',
    'Preparing pasta', 'Preparing salad', 'Putting in contact lenses', 'Putting on makeup',
    'Putting on shoes', 'Rafting', 'Raking leaves', 'Removing curlers', 'Removing ice from car',
    'Riding bumper cars', 'River tubing', 'Rock climbing', 'Rock-paper-scissors', 'Rollerblading',
    'Roof shingle removal', 'Rope skipping', 'Running a marathon', 'Sailing', 'Scuba diving',
    'Sharpening knives', 'Shaving', 'Shaving legs', 'Shot put', 'Shoveling snow', 'Shuffleboard',
    'Skateboarding', 'Skiing', 'Slacklining', 'Smoking a cigarette', 'Smoking hookah', 'Snatch',
    'Snow tubing', 'Snowboarding', 'Spinning', 'Spread mulch', 'Springboard diving',
    'Starting a campfire', 'Sumo', 'Surfing', 'Swimming', 'Swinging at the playground',
    'Table soccer', 'Tai chi', 'Tango', 'Tennis serve with ball bouncing', 'Throwing darts',
    'Trimming branches or hedges', 'Triple jump', 'Tug of war', 'Tumbling', 'Using parallel bars',
    'Using the balance beam', 'Using the monkey bar', 'Using the pommel horse',
    'Using the rowing machine', 'Using uneven bars', 'Vacuuming floor', 'Volleyball',
    'Wakeboarding', 'Walking the dog', 'Washing dishes', 'Washing face', 'Washing hands',
    'Waterskiing', 'Waxing skis', 'Welding', 'Windsurfing', 'Wrapping presents', 'Zumba',
]

CONFIG = {
    "dataset": "ActivityNet",
    "class_names": CLASS_NAMES,
    "data_dir": "data/ActivityNet13",
    # ACM-Net evaluates split_test.txt against the "val" subset of gt.json.
    "eval_subset": "val",
    "feature_dim": 2048,
    "dropout": 0.7,
    # Dropout(dropout) before the embedding conv, as the original ActivityNet model.
    "embed_dropout": True,
    "ins_topk_seg": 2,
    "con_topk_seg": 10,
    "bak_topk_seg": 10,
    "lr": 1e-4,
    "weight_decay": 1e-3,
    "frames_per_sec": 25,
    "segment_frames_num": 16,
    "sample_segments_num": 75,
    "loss_lamb_1": 5e-3,
    "loss_lamb_2": 5e-5,
    "loss_lamb_3": 0.0,
    # ACM-Net's ActivityNet training weights the instance term 5/1/1 (ACM stage only).
    "cls_loss_weights": [5.0, 1.0, 1.0],
    "cls_threshold": 0.10,
    "test_upgrade_scale": 20,
    "cas_thresholds": [0.005, 0.01, 0.015, 0.02],
    "att_thresholds": [0.005, 0.01, 0.015, 0.02],
    # Scoring sequence = 0.7 * CAS + 0.3 * attention; gamma 0 (CAS branch) and 0.25 (attention).
    "oic_lambda": 0.15,
    "oic_gamma_cas": 0.0,
    "oic_gamma_att": 0.25,
    "oic_mix": 0.7,
    "nms_thresh": 0.90,
    "tiou_thresholds": np.arange(0.50, 1.00, 0.05).tolist(),
    # ACM-Net selects on the mean over all ten thresholds.
    "select_metric": "0.5:0.95",
    # ACM-Net's main_act.py evaluates on even epochs only (and selects the best among those).
    "test_every": 2,
    # ACM-Net's command line: batch 16 (its README trains with --batch_size 64), 1000 epochs.
    "batch_size": 16,
    "epochs": 1000,
    # ACM-Net's loss: no in-batch FTCL terms and no epsilon inside the cls log.
    "inbatch_ftcl": False,
    "acm_stage_cls_eps": 0.0,
}

# ``--synthetic``: the small generated dataset and the recipe whose figures the README shows
# (flags given on the command line still win).
SYNTHETIC = {"name": "activitynet", "num_videos": 1200, "feature_dim": 256, "epochs": 60,
             "start_test_epoch": 55,
             # the FTCL pair stage from the quickstart's checkpoint: 10 epochs, even ones tested
             "ftcl": {"epochs": 10, "start_test_epoch": 0}}
